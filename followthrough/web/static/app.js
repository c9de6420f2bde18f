/* followthrough dashboard: keyboard focus after an in-place (htmx) action.
 *
 * Done, Dismiss or Snooze in a list swaps the item for a one-line notice: the button that had the
 * focus is gone and browsers drop focus to <body>, sending a keyboard user back to the top of the
 * page. After such a swap the focus moves on to the same item's first button when it stayed (an
 * edit), else the next item's first button in the same section, else the section's heading, else
 * the page's main region. Every page works without this file.
 */
(function () {
  "use strict";
  var pending = null;

  function nextItem(article) {
    var next = article.nextElementSibling;
    while (next && !next.matches("article.item")) {
      next = next.nextElementSibling;
    }
    return next;
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    pending = null;
    if (!target || !target.matches || !target.matches("article.item")) {
      return;
    }
    pending = {
      id: target.getAttribute("data-item-id"),
      next: nextItem(target),
      section: target.closest("section"),
    };
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) {
      return;
    }
    var p = pending;
    pending = null;
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) {
      return; /* the person already moved on */
    }
    var scope = p.section && document.contains(p.section) ? p.section : document;
    var same = p.id ? scope.querySelector('article.item[data-item-id="' + p.id + '"]') : null;
    var next = p.next && document.contains(p.next) ? p.next : null;
    var heading = p.section ? p.section.querySelector("h2") : null;
    var to =
      (same && same.querySelector("button")) ||
      (next && next.querySelector("button")) ||
      heading ||
      document.getElementById("content");
    if (to) {
      to.focus();
    }
  });
})();
