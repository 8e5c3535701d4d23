/* e-contacts, agent screens: small progressive enhancements (no inline script anywhere).
   - Reply templates: choosing one fills the message box with the text rendered by the server
     (variables already filled in); the agent edits it before sending.
   - Collisions: a heartbeat keeps the agent's presence on a request's page and shows who else
     has it open, and whether a message was added since the page was loaded.
   - FAB's screens in DSFR (app/templates/appbuilder/): a form with data-ec-confirm asks in the
     DSFR modal #ec-confirm (focus kept inside, given back on close) before it is sent; the
     search panel renames a filter's value when its operator changes and leaves empty values
     out (FAB reads _flt_<operator index>_<column>). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* A template with an action (a macro) also sets the kind of message, the "close" box and
     the outcome; the agent still reads and edits the text before sending. */
  function applyTemplate(source, target) {
    var body = source.getAttribute("data-body");
    if (body === null || !target) { return false; }
    target.value = body;
    var kind = source.getAttribute("data-kind");
    if (kind) {
      var radio = document.querySelector('input[name="kind"][value="' + kind + '"]');
      if (radio) { radio.checked = true; }
    }
    var close = document.querySelector('.ec-message-form input[name="close"]');
    if (close) { close.checked = source.getAttribute("data-close") === "1"; }
    var outcome = document.getElementById("reply-outcome");
    if (outcome && source.hasAttribute("data-outcome")) {
      outcome.value = source.getAttribute("data-outcome");
    }
    if (close) { close.dispatchEvent(new Event("change")); }
    if (outcome) { outcome.dispatchEvent(new Event("change")); }
    target.focus();
    return true;
  }

  function setupTemplates() {
    var target = document.getElementById("body");
    var select = document.getElementById("modele");
    if (select) {
      var insert = document.querySelector(".ec-template-insert");
      if (insert) { insert.hidden = true; }
      select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        if (option) { applyTemplate(option, target); }
      });
    }
    document.querySelectorAll(".ec-macro").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (applyTemplate(button, target)) { event.preventDefault(); }
      });
    });
  }

  function renderNotices(container, notices, reloadLabel) {
    container.textContent = "";
    notices.forEach(function (text) {
      var div = document.createElement("div");
      div.className = "fr-alert fr-alert--warning fr-alert--sm fr-mb-1w";
      div.appendChild(document.createTextNode(text + " "));
      container.appendChild(div);
    });
    if (notices.length && reloadLabel) {
      var link = document.createElement("a");
      link.href = window.location.pathname;
      link.textContent = reloadLabel;
      container.lastChild.appendChild(link);
    }
  }

  /* Closing: the outcome is required when the case is closed, and "Autre" needs its words.
     The browser then refuses the form before sending: the typed text and the chosen files stay
     in place (the server checks the same and answers the form again if it must). */
  function setupOutcomes() {
    var close = document.querySelector('.ec-message-form input[name="close"]');
    var replyOutcome = document.getElementById("reply-outcome");
    function syncClose() {
      if (close && replyOutcome) { replyOutcome.required = close.checked; }
    }
    if (close) { close.addEventListener("change", syncClose); syncClose(); }
    document.querySelectorAll("select[data-outcome-other]").forEach(function (select) {
      var other = document.querySelector(select.getAttribute("data-outcome-other"));
      function syncOther() {
        var option = select.options[select.selectedIndex];
        if (other) { other.required = !!(option && option.hasAttribute("data-asks-text")); }
      }
      select.addEventListener("change", syncOther);
      syncOther();
    });
  }

  function setupHeartbeat() {
    var page = document.getElementById("ec-case");
    if (!page || !window.fetch) { return; }
    var url = page.getAttribute("data-heartbeat-url");
    var seconds = parseInt(page.getAttribute("data-heartbeat-seconds"), 10) || 60;
    var container = document.getElementById("ec-notices");
    function beat() {
      var body = new URLSearchParams();
      body.append("last_message_id", page.getAttribute("data-last-message-id"));
      body.append("version", page.getAttribute("data-version"));
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
        body: body
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        if (data && container) { renderNotices(container, data.notices || [], data.reload); }
      }).catch(function () { /* presence is a courtesy: say nothing */ });
    }
    window.setInterval(beat, seconds * 1000);
    page.ecHeartbeat = beat;  // lets a browser test trigger it at once
  }

  function setupConfirm() {
    var modal = document.getElementById("ec-confirm");
    if (!modal) { return; }
    var pending = null;
    var opener = null;
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var text = form.getAttribute("data-ec-confirm");
      var select = form.querySelector("select[name=action]");
      if (select && select.selectedIndex >= 0) {
        text = select.options[select.selectedIndex].getAttribute("data-ec-confirm") || text;
      }
      if (!text || form.ecConfirmed || !window.dsfr) { return; }
      event.preventDefault();
      pending = form;
      opener = event.submitter || document.activeElement;
      document.getElementById("ec-confirm-text").textContent = text;
      window.dsfr(modal).modal.disclose();
    }, true);
    document.getElementById("ec-confirm-ok").addEventListener("click", function () {
      if (!pending) { return; }
      pending.ecConfirmed = true;
      window.dsfr(modal).modal.conceal();
      if (pending.requestSubmit) { pending.requestSubmit(); } else { pending.submit(); }
    });
    modal.addEventListener("dsfr.conceal", function () {
      if (opener && opener.focus && !(pending && pending.ecConfirmed)) { opener.focus(); }
    });
  }

  function setupFilters() {
    var form = document.querySelector("form[data-ec-filters]");
    if (!form) { return; }
    form.addEventListener("change", function (event) {
      var column = event.target.getAttribute("data-ec-filter-op");
      if (!column) { return; }
      var box = form.querySelector('[data-ec-filter-value="' + column + '"]');
      box.querySelectorAll("[name^=_flt_]").forEach(function (control) {
        control.name = "_flt_" + event.target.value + "_" + column;
      });
    });
    form.addEventListener("submit", function () {
      form.querySelectorAll("[name^=_flt_]").forEach(function (control) {
        var empty = control.type === "checkbox" ? !control.checked
          : (control.value === "" || control.value === "__None");
        if (empty) { control.disabled = true; }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupTemplates();
    setupOutcomes();
    setupHeartbeat();
    setupConfirm();
    setupFilters();
  });
}());
