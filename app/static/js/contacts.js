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
