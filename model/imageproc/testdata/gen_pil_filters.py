# Regenerates pil_filters.bin: random RGB images resized by Pillow 9.4 with
# every filter, so the Go tests cover the filters and size changes the shared
# fixtures do not (NEAREST, BOX, BILINEAR, HAMMING; one-axis resizes; 1-pixel
# images). Not needed by any test; run with `python3 gen_pil_filters.py`.
#
# Format, little-endian: magic "PILR", uint32 case count, then per case
# uint16 srcW, srcH, dstW, dstH, filter (PIL number), src HWC bytes, dst HWC bytes.
import struct
import random
import PIL
from PIL import Image

assert PIL.__version__ == "9.4.0", PIL.__version__
rng = random.Random(20260101)
sizes = [
    ((37, 23), [(16, 11), (60, 40), (37, 50), (20, 23), (5, 3), (111, 7)]),
    ((1, 1), [(5, 3), (1, 4)]),
    ((300, 7), [(13, 2), (150, 9)]),
    ((9, 64), [(9, 10), (3, 64), (40, 90)]),
]
cases = []
for (sw, sh), outs in sizes:
    # smooth-ish content plus noise, so every filter's lobes matter
    data = bytes(
        max(0, min(255, (x * 255 // max(sw, 1) + y * 97 // max(sh, 1) + c * 60 + rng.randint(-40, 40)) % 256))
        for y in range(sh) for x in range(sw) for c in range(3)
    )
    im = Image.frombytes("RGB", (sw, sh), data)
    for dw, dh in outs:
        for f in (0, 1, 2, 3, 4, 5):
            out = im.resize((dw, dh), f, reducing_gap=None)
            cases.append(struct.pack("<5H", sw, sh, dw, dh, f) + data + out.tobytes())
with open("pil_filters.bin", "wb") as fh:
    fh.write(b"PILR" + struct.pack("<I", len(cases)))
    for c in cases:
        fh.write(c)
print(len(cases), "cases")
