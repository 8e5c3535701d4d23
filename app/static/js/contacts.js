// e-contacts, recording a contact: show the forwarding fields only when "Transmettre" is chosen.
// Without JavaScript every field stays visible and the server checks them all the same.
(function () {
  "use strict";
  var block = document.getElementById("forward");
  if (!block) {
    return;
  }
  var wanted = block.getAttribute("data-when");
  var radios = document.querySelectorAll("input.ec-disposition");
  function update() {
    var chosen = document.querySelector("input.ec-disposition:checked");
    var show = chosen !== null && chosen.value === wanted;
    block.classList.toggle("ec-hidden", !show);
    block.disabled = !show;
  }
  for (var i = 0; i < radios.length; i += 1) {
    radios[i].addEventListener("change", update);
  }
  update();
})();

// Forwarding: the competent office for the chosen topic (routing rules and the taxpayer's
// commune, computed by the server) is preselected, until the agent picks an office themself.
(function () {
  "use strict";
  var select = document.getElementById("to_office");
  var topic = document.getElementById("topic");
  if (!select || !topic) {
    return;
  }
  var competent = {};
  try {
    competent = JSON.parse(select.getAttribute("data-competent") || "{}");
  } catch (ignored) {
    competent = {};
  }
  var chosenByHand = false;
  select.addEventListener("change", function () {
    chosenByHand = true;
  });
  topic.addEventListener("change", function () {
    if (chosenByHand) {
      return;
    }
    var office = competent[topic.value];
    select.value = office ? String(office) : "";
  });
})();
