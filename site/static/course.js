// The course website: the contents button on a narrow screen, and search over an index built with
// the site (_static/search-index.js); nothing is fetched.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var root = (document.querySelector('meta[name="course-root"]') || {}).content || "";

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector(".course-menu");
    var sidebar = document.getElementById("course-sidebar");
    if (button && sidebar) {
      button.addEventListener("click", function () {
        var open = sidebar.classList.toggle("course-open");
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }

    var input = document.getElementById("course-search-input");
    var box = document.getElementById("course-search-results");
    if (!input || !box) return;

    function search(query) {
      var terms = query.toLowerCase().split(/\s+/).filter(Boolean);
      if (!terms.length) return [];
      var hits = [];
      (window.COURSE_SEARCH || []).forEach(function (e) {
        var t = e.t.toLowerCase(), h = e.h.toLowerCase(), x = e.x.toLowerCase(), score = 0;
        for (var i = 0; i < terms.length; i++) {
          var w = terms[i], s = (h.indexOf(w) >= 0 ? 4 : 0) + (t.indexOf(w) >= 0 ? 2 : 0) + (x.indexOf(w) >= 0 ? 1 : 0);
          if (!s) return;
          score += s;
        }
        hits.push([score, e]);
      });
      hits.sort(function (a, b) { return b[0] - a[0]; });
      return hits.slice(0, 12).map(function (hit) { return hit[1]; });
    }

    function show() {
      var query = input.value.trim();
      box.textContent = "";
      if (!query) return;
      var hits = search(query);
      if (!hits.length) {
        var none = document.createElement("p");
        none.textContent = "Nothing found for \u201c" + query + "\u201d.";
        box.appendChild(none);
        return;
      }
      var list = document.createElement("ul");
      hits.forEach(function (e) {
        var li = document.createElement("li"), a = document.createElement("a"), small = document.createElement("small");
        a.href = root + e.u;
        a.textContent = e.h;
        small.textContent = e.t;
        a.appendChild(small);
        li.appendChild(a);
        list.appendChild(li);
      });
      box.appendChild(list);
    }

    input.addEventListener("input", show);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { input.value = ""; show(); }
      if (ev.key === "Enter") { var first = box.querySelector("a"); if (first) first.click(); }
    });
    document.addEventListener("click", function (ev) {
      if (!ev.target.closest || !ev.target.closest(".course-search")) box.textContent = "";
    });
  });
})();
