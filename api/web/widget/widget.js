/*
 * Returns assistant chat widget.
 *
 * Embed with one tag (served by the API at /widget.js, Socket.IO client included):
 *   <script src="https://api.example.com/widget.js" data-server="https://rasa.example.com"
 *           data-merchant="acme" data-title="Acme Outfitters" data-color="#0f766e"
 *           data-greeting="Hi! How can I help?" defer></script>
 *
 * Talks to Rasa's socketio channel (session_request / user_uttered / bot_uttered) with a session
 * id kept in localStorage, so the conversation survives reloads and is shared between tabs.
 * Photos go to POST {data-api}/api/v1/uploads first; Rasa then gets one
 * /photo_uploaded{"photo_ids": [...]} message. Untrusted text is only ever set as text nodes.
 *
 * `io` is the Socket.IO client, handed in by the server-side wrapper (undefined when the npm
 * packages were not installed: the widget then says that chat is unavailable).
 */
/* global io */
(function (io) {
  "use strict";

  var VERSION = "__WIDGET_VERSION__";
  var script = document.currentScript;
  if (!script || (window.ReturnsAssistant && window.ReturnsAssistant.version)) {
    return; // not loaded by a <script> tag, or loaded twice
  }

  // ---------------------------------------------------------------------------------- config
  var ds = script.dataset;
  var scriptUrl = new URL(script.src, location.href);

  function trimSlash(url) {
    return String(url || "").replace(/\/+$/, "");
  }

  function validColor(value) {
    return /^#(?:[0-9a-fA-F]{3}){1,2}$/.test(value || "") ? value : null;
  }

  var config = {
    server: trimSlash(ds.server || ""),
    api: trimSlash(ds.api || scriptUrl.origin),
    merchant: ds.merchant || "default",
    color: validColor(ds.color) || "#0f766e",
    title: ds.title || "Returns assistant",
    subtitle: ds.subtitle || "Returns, exchanges and refunds",
    greeting: ds.greeting || "",
    socketPath: ds.socketPath || "/socket.io/",
    maxBytes: Math.round((parseFloat(ds.maxPhotoMb) || 10) * 1024 * 1024),
    maxPhotos: parseInt(ds.maxPhotos, 10) || 6,
    camera: ds.camera === "off" || ds.camera === "user" ? ds.camera : "environment",
    position: ds.position === "left" ? "left" : "right",
    openAtStart: ds.open === "true",
  };

  // ---------------------------------------------------------------------------------- storage
  var keyBase = "returns-assistant:" + config.merchant + "@" + config.server + ":";
  var KEYS = { session: keyBase + "session", log: keyBase + "log" };
  var TAB_KEYS = { open: keyBase + "open", queue: keyBase + "queue" };
  var MAX_ENTRIES = 200;

  function readJson(store, key, fallback) {
    try {
      var raw = store.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (err) {
      return fallback;
    }
  }

  function writeJson(store, key, value) {
    try {
      store.setItem(key, JSON.stringify(value));
    } catch (err) {
      // full or disabled storage: the conversation simply does not survive a reload
    }
  }

  var memoryStore = {
    data: {},
    getItem: function (k) { return Object.prototype.hasOwnProperty.call(this.data, k) ? this.data[k] : null; },
    setItem: function (k, v) { this.data[k] = String(v); },
    removeItem: function (k) { delete this.data[k]; },
  };

  function usable(name) {
    try {
      var store = window[name];
      store.setItem(keyBase + "probe", "1");
      store.removeItem(keyBase + "probe");
      return store;
    } catch (err) {
      return memoryStore;
    }
  }

  var local = usable("localStorage");
  var tab = usable("sessionStorage");

  function newId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID().replace(/-/g, "");
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sessionId() {
    var id = local.getItem(KEYS.session);
    if (!id) {
      id = newId();
      local.setItem(KEYS.session, id);
    }
    return id;
  }

  function loadLog() {
    var entries = readJson(local, KEYS.log, []);
    return Array.isArray(entries) ? entries : [];
  }

  /** Read-modify-write of the shared transcript (other tabs write it too). */
  function updateLog(change) {
    var entries = loadLog();
    change(entries);
    if (entries.length > MAX_ENTRIES) {
      entries = entries.slice(entries.length - MAX_ENTRIES);
    }
    writeJson(local, KEYS.log, entries);
    render();
  }

  function appendEntry(entry) {
    updateLog(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        if (entries[i].id === entry.id) {
          return; // another tab recorded it already
        }
      }
      entries.push(entry);
    });
  }

  /*
   * Tabs share one conversation: every tab in the session's room receives each bot message, but
   * only one should write it down. The tab that sent the last user message records replies at
   * once; the others wait a moment and record only what no other tab has (matched by content),
   * which covers a sending tab that was closed meanwhile. localStorage reaches other tabs
   * asynchronously, so exact agreement is not possible; this keeps duplicates out in practice.
   */
  var tabId = newId().slice(0, 12);
  var EMITTER_KEY = keyBase + "emitter";
  var entrySeq = 0;

  function fingerprint(value) {
    var text = JSON.stringify(value) || "";
    var h = 5381;
    for (var i = 0; i < text.length; i++) {
      h = ((h << 5) + h + text.charCodeAt(i)) | 0;
    }
    return (h >>> 0).toString(16) + ":" + text.length;
  }

  // ---------------------------------------------------------------------------------- DOM helpers
  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M4 12l16-8-6 16-2.5-6.5z",
    clip: "M20 11.5l-8.1 8.1a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8",
    camera: "M4 8h3l2-3h6l2 3h3a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1zM12 16.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z",
    restart: "M4 12a8 8 0 1 0 2.3-5.6M4 4v4h4",
    file: "M7 3h7l5 5v13H7zM14 3v5h5",
  };

  function icon(name) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "ra-icon");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  /** el("button", {class: "x", "aria-label": "..."}, [children]); text is always a text node. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === false || value === null || value === undefined) {
        return;
      }
      if (name === "text") {
        node.textContent = value;
      } else if (name === "hidden" || name === "disabled" || name === "multiple") {
        node[name] = Boolean(value);
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function srOnly(text) {
    return el("span", { class: "ra-sr", text: text });
  }

  /** Only http(s) URLs (relative ones resolve against the API) become links or images. */
  function safeUrl(raw) {
    try {
      var url = new URL(String(raw), config.api + "/");
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  function link(href, label) {
    var isPdf = /\.pdf(?:[?#]|$)/i.test(href);
    var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer", class: isPdf ? "ra-link ra-file-link" : "ra-link" },
      isPdf ? [icon("file"), label] : [label]);
    a.appendChild(srOnly(isPdf ? " (PDF, opens in a new tab)" : " (opens in a new tab)"));
    return a;
  }

  var TOKEN = /\[([^\]\n]{1,300})\]\(([^)\s]{1,2000})\)|(https?:\/\/[^\s<>"']+)|\*\*([^*\n]{1,300})\*\*/g;

  /** Text with [label](url), bare URLs and **bold** turned into nodes; everything else stays text. */
  function richText(text) {
    var frag = document.createDocumentFragment();
    var source = String(text || "");
    var last = 0;
    var match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(source)) !== null) {
      var whole = match[0];
      var trailing = "";
      if (match[3]) {
        var cut = whole.match(/[.,;:!?)\]]+$/);
        if (cut) {
          trailing = cut[0];
          whole = whole.slice(0, whole.length - trailing.length);
        }
      }
      frag.appendChild(document.createTextNode(source.slice(last, match.index)));
      if (match[1]) {
        var href = safeUrl(match[2]);
        frag.appendChild(href ? link(href, match[1]) : document.createTextNode(match[0]));
      } else if (match[3]) {
        var bare = safeUrl(whole);
        frag.appendChild(bare ? link(bare, whole) : document.createTextNode(whole));
        if (trailing) {
          frag.appendChild(document.createTextNode(trailing));
        }
      } else {
        frag.appendChild(el("strong", { text: match[4] }));
      }
      last = match.index + match[0].length;
    }
    frag.appendChild(document.createTextNode(source.slice(last)));
    return frag;
  }

  function readableTextOn(hex) {
    var h = hex.slice(1);
    if (h.length === 3) {
      h = h.replace(/./g, "$&$&");
    }
    var rgb = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    return lum > 0.4 ? "#111827" : "#ffffff";
  }

  // ---------------------------------------------------------------------------------- the UI
  var ids = { panel: "returns-assistant-panel", title: "returns-assistant-title", status: "returns-assistant-status", input: "returns-assistant-input" };
  var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;

  var badge = el("span", { class: "ra-badge", hidden: true, "aria-hidden": "true" });
  var launcher = el("button", { type: "button", class: "ra-launcher", "aria-label": "Open chat: " + config.title,
    "aria-expanded": "false", "aria-controls": ids.panel }, [icon("chat"), badge]);

  var statusLine = el("p", { id: ids.status, class: "ra-status", role: "status", "aria-live": "polite", text: config.subtitle });
  var restartButton = el("button", { type: "button", class: "ra-icon-btn", "aria-label": "Start a new conversation", title: "Start a new conversation" }, [icon("restart")]);
  var closeButton = el("button", { type: "button", class: "ra-icon-btn", "aria-label": "Close chat", title: "Close chat (Esc)" }, [icon("close")]);
  var header = el("header", { class: "ra-header" }, [
    el("div", { class: "ra-heading" }, [el("h2", { id: ids.title, class: "ra-title", text: config.title }), statusLine]),
    restartButton, closeButton,
  ]);

  var log = el("div", { class: "ra-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Conversation with " + config.title, tabindex: "0" });
  var typing = el("div", { class: "ra-typing", hidden: true, "aria-hidden": "true" }, [el("span"), el("span"), el("span")]);

  var previews = el("ul", { class: "ra-previews", "aria-label": "Photos to send" });
  var trayError = el("p", { class: "ra-tray-error", role: "alert" });
  var sendPhotosButton = el("button", { type: "button", class: "ra-primary", text: "Send photo" });
  var cancelPhotosButton = el("button", { type: "button", class: "ra-secondary", text: "Cancel" });
  var tray = el("div", { class: "ra-tray", hidden: true }, [previews, trayError, el("div", { class: "ra-tray-actions" }, [cancelPhotosButton, sendPhotosButton])]);

  var fileInput = el("input", { type: "file", accept: "image/*", multiple: true, class: "ra-file", tabindex: "-1", "aria-hidden": "true" });
  var cameraInput = el("input", { type: "file", accept: "image/*", class: "ra-file", tabindex: "-1", "aria-hidden": "true" });
  if (config.camera !== "off") {
    cameraInput.setAttribute("capture", config.camera);
  }
  var attachButton = el("button", { type: "button", class: "ra-icon-btn ra-attach", "aria-label": "Add photos", title: "Add photos" }, [icon("clip")]);
  var cameraButton = el("button", { type: "button", class: "ra-icon-btn ra-attach", "aria-label": "Take a photo", title: "Take a photo",
    hidden: !(coarse && config.camera !== "off") }, [icon("camera")]);
  var input = el("textarea", { id: ids.input, class: "ra-input", rows: "1", placeholder: "Type a message…", autocomplete: "off", enterkeyhint: "send", maxlength: "2000" });
  var sendButton = el("button", { type: "submit", class: "ra-send", "aria-label": "Send message", title: "Send" }, [icon("send")]);
  var composer = el("form", { class: "ra-composer" }, [
    attachButton, cameraButton, fileInput, cameraInput,
    el("label", { for: ids.input, class: "ra-sr", text: "Message" }), input, sendButton,
  ]);

  var panel = el("section", { id: ids.panel, class: "ra-panel", role: "dialog", "aria-labelledby": ids.title, hidden: true },
    [header, log, typing, tray, composer]);
  var root = el("div", { class: "ra-root", "data-position": config.position, hidden: true }, [panel, launcher]);
  root.style.setProperty("--ra-color", config.color);
  root.style.setProperty("--ra-on-color", readableTextOn(config.color));

  // ---------------------------------------------------------------------------------- rendering
  var rendered = {}; // entry id -> element
  var unread = 0;

  function setStatus(text) {
    if (statusLine.textContent !== text) {
      statusLine.textContent = text;
    }
  }

  function messageNode(entry, index, entries) {
    var fromBot = entry.from !== "user";
    var wrap = el("div", { class: "ra-msg " + (entry.from === "system" ? "ra-from-system" : fromBot ? "ra-from-bot" : "ra-from-user"), "data-id": entry.id });
    var who = entry.from === "system" ? "Notice: " : fromBot ? config.title + ": " : "You: ";

    if (entry.kind === "photos") {
      var grid = el("div", { class: "ra-bubble ra-photos" }, [srOnly(who)]);
      (entry.photos || []).forEach(function (photo, i, all) {
        var src = /^data:image\/(?:jpeg|png|webp);base64,/.test(photo.thumb || "") ? photo.thumb : null;
        grid.appendChild(src ? el("img", { src: src, alt: "Photo " + (i + 1) + " of " + all.length + " you sent", class: "ra-thumb" })
          : el("span", { class: "ra-thumb ra-thumb-missing", text: "Photo " + (i + 1) }));
      });
      var count = (entry.photos || []).length;
      grid.appendChild(el("span", { class: "ra-caption", text: count === 1 ? "1 photo sent" : count + " photos sent" }));
      wrap.appendChild(grid);
    } else if (entry.kind === "image") {
      var src2 = safeUrl(entry.src);
      if (src2) {
        wrap.appendChild(el("div", { class: "ra-bubble ra-image-bubble" }, [srOnly(who),
          el("a", { href: src2, target: "_blank", rel: "noopener noreferrer" }, [
            el("img", { src: src2, alt: entry.alt || "Image from " + config.title, class: "ra-image", loading: "lazy" })])]));
      }
    } else if (entry.kind === "link") {
      var href = safeUrl(entry.href);
      wrap.appendChild(el("div", { class: "ra-bubble" }, [srOnly(who), href ? link(href, entry.text || href) : document.createTextNode(entry.text || "")]));
    } else {
      var bubble = el("div", { class: "ra-bubble" }, [srOnly(who)]);
      bubble.appendChild(richText(entry.text));
      wrap.appendChild(bubble);
    }

    if (entry.buttons && entry.buttons.length) {
      var group = el("div", { class: "ra-replies", role: "group", "aria-label": "Suggested replies" });
      entry.buttons.forEach(function (button, i) {
        var url = button.url ? safeUrl(button.url) : null;
        if (url) {
          group.appendChild(link(url, button.title || url));
          return;
        }
        var b = el("button", { type: "button", class: "ra-reply", text: button.title || button.payload, "data-index": String(i) });
        b.addEventListener("click", function () {
          chooseReply(entry.id, i);
        });
        group.appendChild(b);
      });
      wrap.appendChild(group);
    }
    if (entry.from === "user" && queueIds()[entry.id]) {
      wrap.classList.add("ra-pending");
      wrap.appendChild(el("span", { class: "ra-meta", text: "Waiting for connection…" }));
    }
    return wrap;
  }

  function updateReplies(entries) {
    var lastUser = -1;
    entries.forEach(function (entry, i) {
      if (entry.from === "user") {
        lastUser = i;
      }
    });
    entries.forEach(function (entry, i) {
      var node = rendered[entry.id];
      if (!node || !entry.buttons) {
        return;
      }
      var answered = i < lastUser || typeof entry.chosen === "number";
      node.querySelectorAll("button.ra-reply").forEach(function (b) {
        b.disabled = answered;
        var chosen = entry.chosen === Number(b.getAttribute("data-index"));
        b.classList.toggle("ra-chosen", chosen);
        if (answered) {
          b.setAttribute("aria-pressed", chosen ? "true" : "false");
        } else {
          b.removeAttribute("aria-pressed");
        }
      });
    });
  }

  function render() {
    var entries = loadLog();
    var wanted = {};
    entries.forEach(function (entry) { wanted[entry.id] = true; });
    Object.keys(rendered).forEach(function (id) {
      if (!wanted[id]) {
        rendered[id].remove();
        delete rendered[id];
      }
    });
    var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    var previous = null;
    entries.forEach(function (entry, i) {
      var node = rendered[entry.id];
      var pendingNow = entry.from === "user" && Boolean(queueIds()[entry.id]);
      if (node && node.classList.contains("ra-pending") !== pendingNow) {
        node.remove();
        node = null;
      }
      if (!node) {
        node = messageNode(entry, i, entries);
        rendered[entry.id] = node;
        if (previous && previous.nextSibling !== node) {
          previous.after(node);
        } else if (!previous) {
          log.prepend(node);
        }
        atBottom = true;
      }
      previous = node;
    });
    updateReplies(entries);
    if (atBottom) {
      log.scrollTop = log.scrollHeight;
    }
  }

  // ---------------------------------------------------------------------------------- open / close
  function isOpen() {
    return !panel.hidden;
  }

  function open(options) {
    if (!isOpen()) {
      panel.hidden = false;
      root.classList.add("ra-open");
      document.documentElement.classList.add("ra-widget-open");
      launcher.setAttribute("aria-expanded", "true");
      launcher.setAttribute("aria-label", "Close chat: " + config.title);
      tab.setItem(TAB_KEYS.open, "1");
      if (config.greeting && loadLog().length === 0) {
        appendEntry({ id: "greeting", from: "bot", text: config.greeting, ts: Date.now() });
      }
      render();
      connect();
    }
    unread = 0;
    badge.hidden = true;
    if (options && options.draft) {
      input.value = String(options.draft);
      autoGrow();
    }
    log.scrollTop = log.scrollHeight;
    (coarse && !(options && options.draft) ? log : input).focus();
  }

  function close() {
    if (!isOpen()) {
      return;
    }
    panel.hidden = true;
    root.classList.remove("ra-open");
    document.documentElement.classList.remove("ra-widget-open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open chat: " + config.title);
    tab.removeItem(TAB_KEYS.open);
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (isOpen()) {
      close();
    } else {
      open();
    }
  });
  closeButton.addEventListener("click", close);
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      close();
    }
  });

  // ---------------------------------------------------------------------------------- socket
  var socket = null;
  var confirmed = false;
  var retryTimer = null;
  var REFUSED_RETRY_MS = 3000;
  var typingTimer = null;

  function queue() {
    var items = readJson(tab, TAB_KEYS.queue, []);
    return Array.isArray(items) ? items : [];
  }

  function queueIds() {
    var map = {};
    queue().forEach(function (item) { map[item.id] = true; });
    return map;
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) {
      typingTimer = setTimeout(function () { typing.hidden = true; }, 30000);
      log.scrollTop = log.scrollHeight;
    }
  }

  function emitMessage(text) {
    local.setItem(EMITTER_KEY, tabId);
    socket.emit("user_uttered", { message: text, session_id: sessionId(), metadata: { merchant: config.merchant } });
    showTyping(true);
  }

  function flushQueue() {
    var items = queue();
    if (!items.length || !socket || !socket.connected || !confirmed) {
      return;
    }
    writeJson(tab, TAB_KEYS.queue, []);
    items.forEach(function (item) { emitMessage(item.message); });
    render();
  }

  /** Show `display` in the log now; send `message` now or as soon as the connection is back. */
  function sendToBot(message, entry) {
    entry.id = entry.id || "u:" + newId();
    entry.from = "user";
    entry.ts = Date.now();
    if (socket && socket.connected && confirmed) {
      appendEntry(entry);
      emitMessage(message);
    } else {
      writeJson(tab, TAB_KEYS.queue, queue().concat([{ id: entry.id, message: message }]));
      appendEntry(entry);
      connect();
    }
  }

  /** Rasa's socketio bot message -> transcript entries (text, buttons, images, links). */
  function botEntries(data) {
    var entries = [];
    var buttons = Array.isArray(data.quick_replies) ? data.quick_replies : Array.isArray(data.buttons) ? data.buttons : null;
    buttons = buttons && buttons.map(function (b) {
      return { title: String(b.title || b.payload || ""), payload: String(b.payload || b.title || ""), url: b.url ? String(b.url) : undefined };
    });
    if (typeof data.text === "string" && data.text) {
      entries.push({ kind: "text", text: data.text, buttons: buttons });
      buttons = null;
    }
    if (typeof data.image === "string") {
      entries.push({ kind: "image", src: data.image });
    }
    var att = data.attachment;
    if (att && typeof att === "object") {
      var payload = att.payload || {};
      if (att.type === "image") {
        entries.push({ kind: "image", src: payload.src || payload.url, alt: payload.title });
      } else if ((att.type === "file" || att.type === "link" || att.type === "document") && (payload.src || payload.url)) {
        entries.push({ kind: "link", href: payload.src || payload.url, text: payload.title || payload.name || "Open the file" });
      } else if (att.type === "template" && payload.elements) {
        [].concat(payload.elements).forEach(function (element) {
          if (element.image_url) {
            entries.push({ kind: "image", src: element.image_url, alt: element.title });
          }
          entries.push({ kind: "text", text: [element.title, element.subtitle].filter(Boolean).join("\n"),
            buttons: (element.buttons || []).map(function (b) { return { title: String(b.title || ""), payload: String(b.payload || ""), url: b.url }; }) });
        });
      }
    }
    if (buttons && buttons.length) {
      entries.push({ kind: "text", text: "", buttons: buttons });
    }
    return entries;
  }

  var incoming = [];
  var commitTimer = null;

  function onBotMessage(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    showTyping(false);
    var entries = botEntries(data);
    if (!entries.length) {
      return;
    }
    var print = fingerprint(data);
    entries.forEach(function (entry, part) {
      entry.print = print + ":" + part;
      entry.ts = Date.now();
    });
    incoming.push(entries);
    clearTimeout(commitTimer);
    commitTimer = setTimeout(commitIncoming, local.getItem(EMITTER_KEY) === tabId ? 0 : 700);
  }

  function commitIncoming() {
    var batch = incoming;
    incoming = [];
    var added = 0;
    updateLog(function (log) {
      var claimed = {};
      batch.forEach(function (entries) {
        entries.forEach(function (entry) {
          var twin = log.find(function (other) {
            return other.print === entry.print && other.tab !== tabId && !claimed[other.id] &&
              Math.abs((other.ts || 0) - entry.ts) < 15000;
          });
          if (twin) {
            claimed[twin.id] = true; // another tab wrote this one down already
            return;
          }
          entry.id = "b:" + tabId + ":" + (++entrySeq) + ":" + entry.ts;
          entry.from = "bot";
          entry.tab = tabId;
          log.push(entry);
          added++;
        });
      });
    });
    if (added && !isOpen()) {
      unread += added;
      badge.textContent = String(unread);
      badge.hidden = false;
    }
  }

  /**
   * Open the connection unless it is open or already being opened. `socket.active` is true from
   * connect() until a manual disconnect or a refusal: calling connect() again while the first
   * handshake is on its way sends a second namespace CONNECT, which the server refuses
   * ("Unable to connect"), and a refused socket does not retry by itself.
   */
  function connect() {
    if (socket) {
      if (!socket.active) {
        socket.connect();
      }
      return;
    }
    if (typeof io !== "function" || !config.server) {
      setStatus("Chat is unavailable right now. Please try again later.");
      return;
    }
    setStatus("Connecting…");
    socket = io(config.server, { path: config.socketPath, reconnectionDelayMax: 10000 });
    socket.on("connect", function () {
      confirmed = false;
      socket.emit("session_request", { session_id: sessionId() });
    });
    socket.on("session_confirm", function () {
      confirmed = true;
      setStatus(config.subtitle);
      flushQueue();
    });
    socket.on("disconnect", function () {
      confirmed = false;
      showTyping(false);
      setStatus(navigator.onLine === false ? "You are offline. Messages will be sent when you are back." : "Reconnecting…");
    });
    socket.on("connect_error", function () {
      setStatus(navigator.onLine === false ? "You are offline. Messages will be sent when you are back." : "Can't reach the assistant. Retrying…");
      if (!socket.active) {
        // refused by the server rather than unreachable: socket.io leaves retrying to us
        clearTimeout(retryTimer);
        retryTimer = setTimeout(connect, REFUSED_RETRY_MS);
      }
    });
    socket.on("bot_uttered", onBotMessage);
  }

  window.addEventListener("online", function () {
    if (socket) {
      connect();
    }
  });
  window.addEventListener("offline", function () {
    setStatus("You are offline. Messages will be sent when you are back.");
  });

  // ---------------------------------------------------------------------------------- composing
  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  input.addEventListener("input", autoGrow);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : submit();
    }
  });
  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });

  function submit() {
    var text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    input.value = "";
    autoGrow();
    sendToBot(text, { kind: "text", text: text });
    input.focus();
  }

  function chooseReply(entryId, index) {
    var chosen = null;
    updateLog(function (entries) {
      entries.forEach(function (entry) {
        if (entry.id === entryId && entry.buttons && entry.buttons[index] && typeof entry.chosen !== "number") {
          entry.chosen = index;
          chosen = entry.buttons[index];
        }
      });
    });
    if (chosen) {
      sendToBot(chosen.payload, { kind: "text", text: chosen.title });
      input.focus();
    }
  }

  restartButton.addEventListener("click", function () {
    local.removeItem(KEYS.log);
    local.setItem(KEYS.session, newId());
    writeJson(tab, TAB_KEYS.queue, []);
    clearPhotos();
    showTyping(false);
    if (config.greeting) {
      appendEntry({ id: "greeting", from: "bot", text: config.greeting, ts: Date.now() });
    }
    render();
    if (socket) {
      socket.disconnect();
      socket.connect(); // a new session_request with the new id
    }
    input.focus();
  });

  // Other tabs share the conversation: follow their changes.
  window.addEventListener("storage", function (event) {
    if (event.key === KEYS.log) {
      render();
    } else if (event.key === KEYS.session && socket) {
      socket.disconnect();
      socket.connect();
    }
  });

  // ---------------------------------------------------------------------------------- photos
  var photos = []; // {key, file, url, status: ready|uploading|failed, progress, error, node, bar}
  var uploading = false;

  function formatMb(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
  }

  function photoLabel(photo) {
    return photo.file.name || "photo";
  }

  function updateTray() {
    tray.hidden = photos.length === 0 && !trayError.textContent;
    var n = photos.length;
    sendPhotosButton.textContent = uploading ? "Uploading…" : n === 1 ? "Send photo" : "Send " + n + " photos";
    sendPhotosButton.disabled = uploading || n === 0;
    cancelPhotosButton.disabled = uploading;
  }

  function addFiles(list) {
    trayError.textContent = "";
    var problems = [];
    Array.prototype.forEach.call(list || [], function (file) {
      if (!/^image\//.test(file.type) && !/\.(jpe?g|png|webp|heic|heif)$/i.test(file.name)) {
        problems.push("“" + file.name + "” is not a photo.");
      } else if (file.size > config.maxBytes) {
        problems.push("“" + file.name + "” is " + formatMb(file.size) + "; photos must be " + formatMb(config.maxBytes) + " or smaller.");
      } else if (file.size === 0) {
        problems.push("“" + file.name + "” is empty.");
      } else if (photos.length >= config.maxPhotos) {
        problems.push("You can send up to " + config.maxPhotos + " photos at once.");
      } else {
        addPreview(file);
      }
    });
    trayError.textContent = problems.filter(function (p, i, all) { return all.indexOf(p) === i; }).join(" ");
    updateTray();
    if (photos.length) {
      sendPhotosButton.focus();
    }
  }

  function addPreview(file) {
    var photo = { key: newId(), file: file, url: URL.createObjectURL(file), status: "ready", progress: 0 };
    var bar = el("progress", { max: "100", value: "0", class: "ra-progress", "aria-label": "Upload progress for " + photoLabel(photo), hidden: true });
    var remove = el("button", { type: "button", class: "ra-remove", "aria-label": "Remove " + photoLabel(photo), title: "Remove" }, [icon("close")]);
    var note = el("span", { class: "ra-preview-note" });
    photo.node = el("li", { class: "ra-preview" }, [
      el("img", { src: photo.url, alt: "Preview of " + photoLabel(photo) }), bar, note, remove]);
    photo.bar = bar;
    photo.note = note;
    remove.addEventListener("click", function () {
      removePhoto(photo);
      (photos.length ? sendPhotosButton : attachButton).focus();
    });
    photos.push(photo);
    previews.appendChild(photo.node);
  }

  function removePhoto(photo) {
    photos = photos.filter(function (p) { return p !== photo; });
    photo.node.remove();
    URL.revokeObjectURL(photo.url);
    updateTray();
  }

  function clearPhotos() {
    photos.slice().forEach(removePhoto);
    trayError.textContent = "";
    updateTray();
  }

  /** A small JPEG data URL of the photo, kept in the transcript so reloads still show it. */
  function thumbnail(photo) {
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = function () {
        try {
          var scale = Math.min(1, 240 / Math.max(img.naturalWidth, img.naturalHeight));
          var canvas = document.createElement("canvas");
          canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
          canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
          canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
          resolve(canvas.toDataURL("image/jpeg", 0.72));
        } catch (err) {
          resolve(null);
        }
      };
      img.onerror = function () { resolve(null); };
      img.src = photo.url;
    });
  }

  /** POST one photo; resolves {photoId} or {clientError: detail} or {networkError: message}. */
  function upload(photo) {
    return new Promise(function (resolve) {
      var form = new FormData();
      form.append("file", photo.file, photo.file.name || "photo.jpg");
      form.append("conversation_id", sessionId());
      var xhr = new XMLHttpRequest();
      xhr.open("POST", config.api + "/api/v1/uploads");
      xhr.responseType = "text";
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          photo.bar.value = Math.round((event.loaded / event.total) * 95);
        }
      });
      xhr.onload = function () {
        var body = {};
        try {
          body = JSON.parse(xhr.responseText || "{}");
        } catch (err) {
          body = {};
        }
        if (xhr.status >= 200 && xhr.status < 300 && body.photo_id) {
          photo.bar.value = 100;
          resolve({ photoId: String(body.photo_id) });
        } else if (xhr.status >= 400 && xhr.status < 500) {
          resolve({ clientError: typeof body.detail === "string" ? body.detail : "That photo could not be accepted." });
        } else {
          resolve({ networkError: "The upload failed. Please try again." });
        }
      };
      xhr.onerror = function () { resolve({ networkError: "The upload failed. Check your connection and try again." }); };
      xhr.ontimeout = xhr.onerror;
      xhr.timeout = 120000;
      xhr.send(form);
    });
  }

  function addNotice(text) {
    appendEntry({ id: "n:" + newId(), from: "system", kind: "text", text: text, ts: Date.now() });
  }

  async function sendPhotos() {
    if (uploading || !photos.length) {
      return;
    }
    uploading = true;
    trayError.textContent = "";
    updateTray();
    var sent = [];
    var batch = photos.slice();
    for (var i = 0; i < batch.length; i++) {
      var photo = batch[i];
      photo.bar.hidden = false;
      photo.bar.value = 0;
      photo.note.textContent = "";
      photo.node.classList.add("ra-uploading");
      var result = await upload(photo);
      photo.node.classList.remove("ra-uploading");
      if (result.photoId) {
        sent.push({ id: result.photoId, thumb: await thumbnail(photo) });
        removePhoto(photo);
      } else if (result.clientError) {
        addNotice(photoLabel(photo) + ": " + result.clientError);
        removePhoto(photo);
      } else {
        photo.bar.hidden = true;
        photo.note.textContent = "Not sent";
        trayError.textContent = result.networkError;
      }
    }
    uploading = false;
    updateTray();
    if (sent.length) {
      var ids = sent.map(function (p) { return p.id; });
      sendToBot("/photo_uploaded" + JSON.stringify({ photo_ids: ids }), {
        kind: "photos", photos: sent.map(function (p) { return { id: p.id, thumb: p.thumb }; }),
      });
    }
    (photos.length ? sendPhotosButton : input).focus();
  }

  attachButton.addEventListener("click", function () { fileInput.click(); });
  cameraButton.addEventListener("click", function () { cameraInput.click(); });
  [fileInput, cameraInput].forEach(function (picker) {
    picker.addEventListener("change", function () {
      addFiles(picker.files);
      picker.value = "";
    });
  });
  sendPhotosButton.addEventListener("click", sendPhotos);
  cancelPhotosButton.addEventListener("click", function () {
    clearPhotos();
    attachButton.focus();
  });
  panel.addEventListener("dragover", function (event) {
    if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
      event.preventDefault();
    }
  });
  panel.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) {
      event.preventDefault();
      addFiles(event.dataTransfer.files);
    }
  });
  input.addEventListener("paste", function (event) {
    var files = event.clipboardData && event.clipboardData.files;
    if (files && files.length) {
      event.preventDefault();
      addFiles(files);
    }
  });

  // ---------------------------------------------------------------------------------- start
  function mount() {
    var css = el("link", { rel: "stylesheet", href: new URL("widget.css?v=" + VERSION, scriptUrl).href });
    var shown = false;
    function show() {
      if (!shown) {
        shown = true;
        root.hidden = false;
        if (config.openAtStart || tab.getItem(TAB_KEYS.open)) {
          open();
        }
      }
    }
    css.addEventListener("load", show);
    css.addEventListener("error", show);
    setTimeout(show, 3000);
    document.head.appendChild(css);
    document.body.appendChild(root);
    render();
    if (loadLog().some(function (entry) { return entry.from === "user"; })) {
      connect(); // an ongoing conversation: follow it (replies to other tabs, queued messages)
    }
  }

  window.ReturnsAssistant = {
    version: VERSION,
    open: open,
    close: close,
    send: function (text) {
      if (text) {
        sendToBot(String(text), { kind: "text", text: String(text) });
      }
    },
    sessionId: sessionId,
    config: config,
  };

  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
})(typeof io === "function" ? io : undefined);
