'use strict';

const prettyBytes = require('pretty-bytes');

// Renders a byte count the way a person would read it ("1.34 kB").
function size(bytes) {
  return prettyBytes(Math.max(0, Math.round(bytes)));
}

module.exports = { size };
