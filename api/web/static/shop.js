// Demo shop: buttons marked data-open-chat open the chat widget (with an optional draft message).
document.addEventListener("click", function (event) {
  var trigger = event.target.closest("[data-open-chat]");
  if (!trigger || !window.ReturnsAssistant) {
    return;
  }
  event.preventDefault();
  window.ReturnsAssistant.open({ draft: trigger.getAttribute("data-draft") || "" });
});
