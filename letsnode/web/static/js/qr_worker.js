// Reads QR codes off camera frames for scan.js, away from the page's thread, with jsQR
// (vendor/jsQR.js, Apache-2.0: vendor/jsQR.LICENSE.txt).
/* global jsQR, importScripts */
importScripts("/vendor/jsQR.js");

self.addEventListener("message", (event) => {
  const { data, width, height } = event.data;
  const found = jsQR(data, width, height, { inversionAttempts: "dontInvert" });
  self.postMessage(found ? found.data : null);
});
