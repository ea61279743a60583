// Keeps a list current without reloading the page: every 15 s the element with a
// data-refresh URL is replaced by a fresh copy from the server (an HTML fragment).
// Skipped while someone is filling in a form inside it, so a half-typed note is never lost.
(function () {
  "use strict";
  var DEFAULT_PERIOD_MS = 15000;

  function busy(box) {
    var active = document.activeElement;
    if (active && box.contains(active) && active.matches("input, textarea, select")) {
      return true;
    }
    return box.querySelector("details[open]") !== null;
  }

  function refresh(box) {
    if (document.hidden || busy(box)) {
      return;
    }
    fetch(box.dataset.refresh, {
      credentials: "same-origin",
      headers: { "X-Fragment": "1" },
    })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload(); // signed out: let the page send them to the login
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && !busy(box)) {
          box.innerHTML = html;
          box.dataset.refreshedAt = String(Date.now());
        }
      })
      .catch(function () {
        /* offline for a moment (walking between buildings): try again next time */
      });
  }

  document.querySelectorAll("[data-refresh]").forEach(function (box) {
    var period = parseInt(box.dataset.refreshMs, 10) || DEFAULT_PERIOD_MS;
    window.setInterval(function () {
      refresh(box);
    }, period);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        refresh(box);
      }
    });
  });
})();
