// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // A form marked data-once can be submitted once: the button is disabled and says so. The server
  // enforces this anyway (one top-up per intent key); this only spares people a confusing second click.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-once]")) return;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      // Disable after the submit has been dispatched so the button's own name/value is still sent.
      setTimeout(function () {
        button.disabled = true;
        if (button.dataset.busy) button.textContent = button.dataset.busy;
      }, 0);
    });
  });
  // Reload result pages that wait for an outcome (top-up status), without a meta refresh's history entry.
  var wait = document.querySelector("[data-reload-after]");
  if (wait) {
    setTimeout(function () { window.location.reload(); }, 1000 * Number(wait.dataset.reloadAfter));
  }
})();
