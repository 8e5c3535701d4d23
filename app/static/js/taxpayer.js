/* e-contacts, taxpayer pages: draft autosave, year field, attachment checks, single submit.
   No inline script anywhere (Content-Security-Policy): every hook is a data- attribute. */
(function () {
  "use strict";

  var PREFIX = "ec-draft:";

  function store() {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (error) {
      return null;
    }
  }

  var storage = store();

  function clearAllDrafts() {
    if (!storage) return;
    var keys = [];
    for (var i = 0; i < storage.length; i += 1) {
      var key = storage.key(i);
      if (key && key.indexOf(PREFIX) === 0) keys.push(key);
    }
    keys.forEach(function (key) { storage.removeItem(key); });
  }

  /* 1. Drafts: every textarea with data-draft-key is saved while typing and restored. */
  function setUpDrafts() {
    if (!storage) return;
    document.querySelectorAll("[data-draft-clear]").forEach(function (marker) {
      storage.removeItem(PREFIX + marker.getAttribute("data-draft-clear"));
    });
    document.querySelectorAll("textarea[data-draft-key]").forEach(function (area) {
      var key = PREFIX + area.getAttribute("data-draft-key");
      var saved = storage.getItem(key);
      if (saved && !area.value.trim()) {
        area.value = saved;
        var notice = document.querySelector("[data-draft-notice]");
        if (notice) notice.classList.remove("ec-hidden");
      }
      var timer = null;
      area.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          if (area.value.trim()) storage.setItem(key, area.value);
          else storage.removeItem(key);
        }, 400);
      });
    });
    document.querySelectorAll("form[data-clears-drafts]").forEach(function (form) {
      form.addEventListener("submit", clearAllDrafts);
    });
  }

  /* 2. The year is asked only for a tax that needs it. */
  function setUpYear() {
    var matter = document.getElementById("tax_matter");
    var group = document.querySelector("[data-year-group]");
    var year = document.getElementById("tax_year");
    if (!matter || !group || !year) return;
    function update() {
      var option = matter.options[matter.selectedIndex];
      var asks = option && option.getAttribute("data-asks-year") === "1";
      var hasError = group.querySelector(".fr-error-text") !== null;
      group.classList.toggle("ec-hidden", !asks && !hasError);
      if (!asks && !hasError) year.value = "";
    }
    matter.addEventListener("change", update);
    update();
  }

  /* 3. Attachments: count and size checked before anything is sent. */
  function fileProblem(input) {
    var maxCount = parseInt(input.getAttribute("data-max-count"), 10);
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var files = input.files || [];
    if (maxCount && files.length > maxCount) return input.getAttribute("data-msg-count");
    for (var i = 0; i < files.length; i += 1) {
      if (maxBytes && files[i].size > maxBytes) {
        return input.getAttribute("data-msg-size") + " " + files[i].name;
      }
    }
    return "";
  }

  function showFileProblem(input, text) {
    var group = input.closest(".fr-upload-group");
    var messages = document.getElementById(input.id + "-messages");
    if (!group || !messages) return;
    group.classList.toggle("fr-upload-group--error", Boolean(text));
    messages.textContent = "";
    if (text) {
      var line = document.createElement("p");
      line.className = "fr-message fr-message--error";
      line.textContent = text;
      messages.appendChild(line);
    }
  }

  function setUpFiles() {
    document.querySelectorAll("input[type=file][data-max-count]").forEach(function (input) {
      input.addEventListener("change", function () { showFileProblem(input, fileProblem(input)); });
    });
  }

  /* 4. One submit per form: a second click while sending does nothing. */
  function setUpSubmit() {
    document.querySelectorAll("form[data-single-submit]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var input = form.querySelector("input[type=file][data-max-count]");
        var problem = input ? fileProblem(input) : "";
        if (problem) {
          event.preventDefault();
          showFileProblem(input, problem);
          input.focus();
          return;
        }
        if (form.getAttribute("data-sending") === "1") {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-sending", "1");
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.setAttribute("aria-disabled", "true");
        });
      });
    });
  }

  function start() {
    setUpDrafts();
    setUpYear();
    setUpFiles();
    setUpSubmit();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
