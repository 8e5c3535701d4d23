/* What FAB 5.3's widgets did in inline <script> blocks, read from data-* attributes instead, so
   that the agent pages work under a Content-Security-Policy without 'unsafe-inline' scripts
   (app/headers.py; the templates are overridden under app/templates/appbuilder/). */
(function ($) {
  "use strict";

  function confirmation(element) {
    var text = element.getAttribute("data-fab-confirmation");
    return text ? text : false;
  }

  // Run now, as FAB's inline scripts did (this file loads at the end of <body>, before the
  // ready handlers of ab.js that set up select2).

  // Search form of a model view: an empty first choice in each select.
  $("form.form-search:not(#filter_form) .my_select2").prepend("<option value=''></option>");

  // Filters of a list page.
  var filterForm = document.getElementById("filter_form");
  if (filterForm && filterForm.hasAttribute("data-label-columns") &&
      typeof AdminFilters === "function") {
    new AdminFilters(
      "#filter_form",
      JSON.parse(filterForm.getAttribute("data-label-columns")),
      JSON.parse(filterForm.getAttribute("data-form-fields")),
      JSON.parse(filterForm.getAttribute("data-search-filters")),
      JSON.parse(filterForm.getAttribute("data-active-filters"))
    );
  }

  $(function () {
    // List pages: the object that runs actions on the checked rows.
    if (document.getElementById("action_form") && typeof AdminActions === "function") {
      window.modelActions = new AdminActions();
    }
  });

  // Buttons and menu items (delegated: they may be added after load).
  $(document).on("click", "[data-fab-action-single]", function (event) {
    event.preventDefault();
    return new AdminActions().execute_single(
      this.getAttribute("data-fab-action-single"), confirmation(this));
  });
  $(document).on("click", "[data-fab-action-multiple]", function (event) {
    event.preventDefault();
    return window.modelActions.execute_multiple(
      this.getAttribute("data-fab-action-multiple"), confirmation(this));
  });
  $(document).on("click", "[data-fab-delete]", function (event) {
    event.preventDefault();
    return new AdminActions().execute_single_delete(
      this.getAttribute("data-fab-delete"), confirmation(this));
  });
})(jQuery);
