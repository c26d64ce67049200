// metalplane console: the little script the pages need. Served as a file
// (the Content-Security-Policy allows no inline script). Without it every
// page still works; it only keeps them up to date and the price in view.
"use strict";

(function () {
  // Live regions: every element with data-live (and an id) is replaced by
  // its new rendering, fetched from the same URL every second while the
  // page is visible. The server renders it; the script only swaps it in.
  var live = document.querySelectorAll("[data-live][id]");
  if (live.length > 0) {
    var busy = false;
    var refresh = function () {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(location.href, { headers: { "X-Console-Live": "1" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { location.assign("/console/login"); throw new Error("signed out"); }
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          live.forEach(function (el) {
            var fresh = doc.getElementById(el.id);
            if (fresh && fresh.innerHTML !== el.innerHTML) { el.innerHTML = fresh.innerHTML; }
          });
        })
        .catch(function () {})
        .finally(function () { busy = false; });
    };
    setInterval(refresh, 1000);
  }

  // The purchase form: stock and price follow the choice.
  var form = document.getElementById("buy");
  if (form) {
    // Answers can come back out of order: only the newest question's
    // answer is shown.
    var asked = 0;
    var quote = function () {
      var mine = ++asked;
      var data = new FormData(form);
      data.delete("csrf");
      var query = new URLSearchParams(data).toString();
      fetch("/console/quote?" + query, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (q) {
          if (mine !== asked) { return; }
          document.getElementById("stock").textContent = q.stock;
          document.getElementById("stock").dataset.sell = q.sellStatus || "";
          document.getElementById("price").textContent = q.price || "";
          document.getElementById("quoteError").textContent = q.error || "";
        })
        .catch(function () {});
    };
    form.addEventListener("change", quote);
    form.addEventListener("input", function (e) {
      if (e.target.type === "number") { quote(); }
    });
  }
})();
