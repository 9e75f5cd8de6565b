// Shows the counter's value as the server pushes it over server-sent events.
(function () {
  "use strict";
  const script = document.currentScript;
  const output = document.getElementById("value");
  const status = document.getElementById("status");
  const source = new EventSource(script.dataset.events);
  source.addEventListener("count", function (event) {
    output.textContent = event.data;
  });
  source.addEventListener("open", function () { status.textContent = "Live."; });
  source.addEventListener("error", function () {
    status.textContent = "Reconnecting…"; // EventSource retries by itself
  });
  document.getElementById("increment").addEventListener("click", function () {
    fetch(script.dataset.increment, { method: "POST" });
  });
})();
