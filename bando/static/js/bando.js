/* bando: what JavaScript adds to pages that work without it.
 *
 * - the error summary takes the focus, and its links move the focus to their field (with no
 *   summary, the first refused field or the page's refusal takes it);
 * - character counters under the text fields that have a limit (data-limit);
 * - the guidelines follow the chosen neighbourhood at once;
 * - the budget's totals and co-financing share follow what is typed;
 * - a warning before leaving a form with changes not yet saved.
 *
 * Loaded with <script src> (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.add("js");
  var english = (root.getAttribute("lang") || "it").indexOf("it") !== 0;

  function t(it, en) {
    return english ? en : it;
  }

  /* --- error summary -------------------------------------------------------------------- */

  function focusTarget(id) {
    var target = document.getElementById(id);
    if (!target) return false;
    var control = target;
    if (!/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName) && !target.hasAttribute("tabindex")) {
      control = target.querySelector("input:not([type=hidden]):not([disabled]), select, textarea") || target;
    }
    var label = document.querySelector('label[for="' + control.id + '"]');
    var legend = control.closest("fieldset") && control.closest("fieldset").querySelector("legend");
    control.focus({ preventScroll: true });
    (label || legend || control).scrollIntoView({ block: "start" });
    return document.activeElement === control;
  }

  function initErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) {
      // A form with no summary: its first refused field, or else the page's refusal, takes
      // the focus (a keyboard or a screen reader starts where the problem is).
      var invalid = document.querySelector('main [aria-invalid="true"][id], main .is-invalid[id]');
      if (invalid && focusTarget(invalid.id)) return;
      var refusal = document.querySelector('main .alert-danger[role="alert"]');
      if (refusal) {
        refusal.setAttribute("tabindex", "-1");
        refusal.focus();
      }
      return;
    }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-target]");
      if (link && focusTarget(link.getAttribute("data-target"))) {
        event.preventDefault();
      }
    });
  }

  /* --- character counters ----------------------------------------------------------------- */

  function length(text) {
    // As the server counts: characters (code points), a line break being one.
    return Array.from(text.replace(/\r\n/g, "\n")).length;
  }

  function number(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, english ? "," : ".");
  }

  function initCounters() {
    var fields = document.querySelectorAll("[data-limit]");
    Array.prototype.forEach.call(fields, function (field) {
      var limit = parseInt(field.getAttribute("data-limit"), 10);
      var help = document.getElementById(field.id + "-help");
      if (!limit || !help) return;
      var counter = document.createElement("span");
      counter.className = "bando-counter";
      counter.setAttribute("data-counter-for", field.id);
      counter.setAttribute("aria-hidden", "true");
      var spoken = document.createElement("span");
      spoken.className = "visually-hidden";
      spoken.setAttribute("aria-live", "polite");
      help.appendChild(counter);
      help.appendChild(spoken);
      var timer = null;
      function update(quiet) {
        var used = length(field.value);
        var left = limit - used;
        var text =
          left >= 0
            ? t(number(used) + " caratteri su " + number(limit) + " (ne restano " + number(left) + ")",
                number(used) + " of " + number(limit) + " characters (" + number(left) + " left)")
            : t(number(-left) + " caratteri oltre il massimo di " + number(limit),
                number(-left) + " characters over the limit of " + number(limit));
        counter.textContent = text;
        counter.classList.toggle("over", left < 0);
        // Screen readers hear the count once the typing pauses, not at every key.
        clearTimeout(timer);
        if (quiet === true) return;
        timer = setTimeout(function () {
          spoken.textContent = text;
        }, 1000);
      }
      field.addEventListener("input", update);
      update(true);
    });
  }

  /* --- guidelines follow the neighbourhood --------------------------------------------- */

  function initGuidelines() {
    var select = document.getElementById("neighbourhood");
    var box = document.querySelector("[data-guidelines]");
    if (!select || !box) return;
    var prompt = box.querySelector("[data-guidelines-prompt]");
    function show() {
      var chosen = select.value;
      Array.prototype.forEach.call(box.querySelectorAll(".bando-guideline-group"), function (group) {
        var own = group.getAttribute("data-neighbourhood");
        var visible = chosen !== "" && (own === chosen || own === "*");
        group.hidden = !visible;
        // A hidden group sends nothing: its ticks belong to another neighbourhood.
        group.disabled = !visible;
      });
      if (prompt) prompt.hidden = chosen !== "";
    }
    select.addEventListener("change", show);
    show();
  }

  /* --- the budget's totals ---------------------------------------------------------------- */

  // As scoring.money.parse_cents reads an amount: "6.000,00", "6000", "6500,5", "6000.00".
  function cents(text) {
    var raw = (text || "").replace(/[€\s]/g, "");
    if (!raw) return 0;
    if (raw.indexOf(",") !== -1 || /^[1-9]\d{0,2}(\.\d{3})+$/.test(raw)) {
      raw = raw.replace(/\./g, "").replace(",", ".");
    }
    if (!/^\d+(\.\d{1,2})?$/.test(raw)) return null;
    var parts = raw.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }

  function euro(value) {
    var sign = value < 0 ? "-" : "";
    value = Math.abs(value);
    var units = number(Math.floor(value / 100));
    var decimals = String(value % 100).padStart(2, "0");
    return sign + "€ " + units + (english ? "." : ",") + decimals;
  }

  function initBudget() {
    var section = document.querySelector("[data-budget]");
    if (!section) return;
    var figures = section.querySelector("[data-budget-figures]");
    var status = section.querySelector("[data-budget-status]");
    var minShare = parseInt(section.getAttribute("data-min-share"), 10) || 0;
    var maxGrant = parseInt(section.getAttribute("data-max-grant"), 10) || 0;
    var requestedField = section.querySelector("[data-budget-requested]");
    var cofinancingField = section.querySelector("[data-budget-cofinancing]");
    function put(name, text) {
      var cell = figures.querySelector('[data-field="' + name + '"]');
      if (cell) cell.textContent = text;
    }
    function update() {
      var total = 0;
      var unreadable = false;
      Array.prototype.forEach.call(section.querySelectorAll('input[name$="-amount"]'), function (input) {
        var value = cents(input.value);
        if (value === null) unreadable = true;
        else total += value;
      });
      var requested = cents(requestedField.value);
      var typed = cofinancingField.value.trim();
      var cofinancing = typed ? cents(typed) : Math.max(total - (requested || 0), 0);
      if (requested === null || cofinancing === null) unreadable = true;
      put("total", euro(total));
      put("requested", requested === null ? "—" : euro(requested));
      put("cofinancing", cofinancing === null ? "—" : euro(cofinancing) + (typed ? "" : t(" (calcolato)", " (computed)")));
      var share = total > 0 && cofinancing !== null ? Math.round((cofinancing * 100) / total) : 0;
      put("share", share + "%");
      var notes = [];
      if (unreadable) notes.push(t("Un importo non è leggibile: scriverlo come 1.500,00.", "An amount cannot be read: write it as 1.500,00."));
      if (requested !== null && maxGrant && requested > maxGrant) {
        notes.push(t("Il contributo richiesto supera il massimo di ", "The requested grant exceeds the maximum of ") + euro(maxGrant) + ".");
      }
      var minimum = Math.ceil((total * minShare) / 10000);
      if (total > 0 && cofinancing !== null && cofinancing < minimum) {
        notes.push(t("Il cofinanziamento deve essere almeno ", "The co-financing must be at least ") + euro(minimum) + ".");
      }
      if (requested !== null && cofinancing !== null && total > 0 && requested + cofinancing !== total) {
        notes.push(
          t("Contributo e cofinanziamento sommano ", "Grant and co-financing add up to ") +
            euro(requested + cofinancing) +
            t(", le voci di spesa ", ", the budget lines to ") +
            euro(total) + "."
        );
      }
      status.textContent = notes.join(" ");
    }
    section.addEventListener("input", update);
    section.addEventListener("change", update);
    update();
  }

  /* --- changes not yet saved ---------------------------------------------------------- */

  function initUnsaved() {
    var form = document.querySelector("form[data-warn-unsaved]");
    if (!form) return;
    var dirty = false;
    var note = form.querySelector("[data-unsaved]");
    function changed() {
      dirty = true;
      if (note) note.hidden = false;
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () {
      dirty = false;
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }

  function init() {
    initErrorSummary();
    initCounters();
    initGuidelines();
    initBudget();
    initUnsaved();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
