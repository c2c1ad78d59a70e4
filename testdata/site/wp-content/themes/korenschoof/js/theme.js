/* Korenschoof demo theme: mobile menu toggle. */
(function () {
  var nav = document.querySelector('.wp-block-navigation');
  if (!nav) { return; }
  document.documentElement.classList.add('js');
})();
