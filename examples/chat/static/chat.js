// Joins the room's websocket as soon as the page loads and shows what
// everyone says. The server names each visitor in its first message.
(function () {
  "use strict";
  const script = document.currentScript;
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const say = document.getElementById("say");
  const input = document.getElementById("text");
  let socket = null;

  function show(text, kind) {
    const item = document.createElement("li");
    item.className = kind;
    item.textContent = text; // never innerHTML: messages come from other users
    log.appendChild(item);
    item.scrollIntoView();
  }

  function connect() {
    // The server's URL for the socket (with the page's ?name=), on the
    // page's own host and with a secure scheme on an https page.
    const url = new URL(script.dataset.wsUrl, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.host = location.host;
    socket = new WebSocket(url);
    socket.addEventListener("message", function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "welcome") {
        status.textContent = "Connected as " + message.name + ".";
      } else if (message.type === "message") {
        show(message.name + ": " + message.text, "message");
      } else if (message.type === "error") {
        show(message.text, "notice");
      } else {
        show(message.name + (message.type === "join" ? " joined" : " left"), "notice");
      }
    });
    socket.addEventListener("close", function (event) {
      status.textContent = "Disconnected (code " + event.code + "); reconnecting…";
      setTimeout(connect, 2000);
    });
  }

  say.addEventListener("submit", function (event) {
    event.preventDefault();
    if (socket && socket.readyState === WebSocket.OPEN && input.value.trim()) {
      socket.send(input.value);
      input.value = "";
    }
  });
  connect();
})();
