// qr_decode reads a QR code drawn with half-block characters (as chusme
// totp enable draws it: '█' both modules dark, '▀' the upper one, '▄' the
// lower one, ' ' none) from standard input, renders it as an image, four
// pixels a module, dark on light, and decodes it with jsQR, an
// independent decoder; it prints the decoded text.
import jsQR from 'jsqr';

const input = await new Promise((resolve) => {
  let s = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
});
const rows = input.split('\n').filter((l) => l.length > 0);
const modules = [];
for (const line of rows) {
  const top = [], bottom = [];
  for (const ch of line) {
    top.push(ch === '█' || ch === '▀');
    bottom.push(ch === '█' || ch === '▄');
  }
  modules.push(top, bottom);
}
const scale = 4, h = modules.length, w = modules[0].length;
const data = new Uint8ClampedArray(w * scale * h * scale * 4);
for (let y = 0; y < h * scale; y++) {
  for (let x = 0; x < w * scale; x++) {
    const v = modules[Math.floor(y / scale)][Math.floor(x / scale)] ? 0 : 255;
    const i = (y * w * scale + x) * 4;
    data[i] = data[i + 1] = data[i + 2] = v;
    data[i + 3] = 255;
  }
}
const code = jsQR(data, w * scale, h * scale, { inversionAttempts: 'dontInvert' });
if (!code) {
  console.error('jsQR found no QR code');
  process.exit(1);
}
console.log(code.data);
