/* e-contacts, agent screens: small progressive enhancements (no inline script anywhere).
   - Reply templates: choosing one fills the message box with the text rendered by the server
     (variables already filled in); the agent edits it before sending.
   - Collisions: a heartbeat keeps the agent's presence on a request's page and shows who else
     has it open, and whether a message was added since the page was loaded. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function setupTemplates() {
    var select = document.getElementById("modele");
    if (!select) { return; }
    var target = document.querySelector(select.getAttribute("data-target") || "#body");
    var insert = document.querySelector(".ec-template-insert");
    if (insert) { insert.classList.add("hidden"); }
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      var body = option ? option.getAttribute("data-body") : null;
      if (body === null || !target) { return; }
      target.value = body;
      target.focus();
    });
  }

  function renderNotices(container, notices, reloadLabel) {
    container.textContent = "";
    notices.forEach(function (text) {
      var div = document.createElement("div");
      div.className = "alert alert-warning";
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

  document.addEventListener("DOMContentLoaded", function () {
    setupTemplates();
    setupHeartbeat();
  });
}());
