// The third-party rasa-webchat widget (npm rasa-webchat, UMD bundle) on our Rasa socketio channel.
document.addEventListener("DOMContentLoaded", function () {
  var host = document.getElementById("webchat");
  if (!host || !window.WebChat) {
    return;
  }
  window.WebChat.default({
    socketUrl: host.getAttribute("data-server"),
    socketPath: "/socket.io/",
    title: host.getAttribute("data-title"),
    subtitle: host.getAttribute("data-subtitle"),
    inputTextFieldHint: "Type a message…",
    embedded: true,
    showFullScreenButton: false,
    hideWhenNotConnected: false,
    initPayload: "/greet", // a contract intent: the conversation opens with the bot's greeting
    customData: { language: "en" },
    params: { storage: "session" },
  }, host); // the second argument is where it mounts (null: a new <div> at the end of <body>)
});
