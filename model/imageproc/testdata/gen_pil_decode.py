# Regenerates testdata/pil_decode/: small images in the modes and formats the
# shared fixtures do not cover, each with <name>.rgb = what transformers'
# load_image gives (Pillow 9.4: Image.open, ImageOps.exif_transpose,
# convert("RGB")): uint32 LE width, height, then HWC bytes. Also writes
# testdata/malformed/. Not needed by any test; run `python3 gen_pil_decode.py`.
import io, os, random, struct, zlib
import PIL
from PIL import Image, ImageOps

assert PIL.__version__ == "9.4.0", PIL.__version__
rng = random.Random(7)
W, H = 23, 17
os.makedirs("pil_decode", exist_ok=True)
os.makedirs("malformed", exist_ok=True)


def chunk(typ, body):
    return struct.pack(">I", len(body)) + typ + body + struct.pack(">I", zlib.crc32(typ + body) & 0xFFFFFFFF)


def png(w, h, ctype, depth, rows, plte=None, trns=None):
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
    if plte:
        out += chunk(b"PLTE", plte)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def packbits(vals, depth):
    out, acc, n = bytearray(), 0, 0
    for v in vals:
        acc = (acc << depth) | v
        n += depth
        if n == 8:
            out.append(acc); acc = n = 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def samples(depth, count):
    return [rng.randrange(1 << depth) for _ in range(count)]


files = {}
# PNG: every colour type and bit depth.
for depth in (1, 2, 4, 8, 16):
    rows = []
    for y in range(H):
        v = samples(depth, W)
        rows.append(packbits(v, depth) if depth < 8 else b"".join(x.to_bytes(depth // 8, "big") for x in v))
    files[f"gray{depth}.png"] = png(W, H, 0, depth, rows)
    if depth == 16:
        # a small range, so PIL's clamp to 255 and Go's high byte differ
        rows = [b"".join(rng.randrange(600).to_bytes(2, "big") for _ in range(W)) for _ in range(H)]
        files["gray16_low.png"] = png(W, H, 0, 16, rows)
        files["gray16_trns.png"] = png(W, H, 0, 16, rows, trns=struct.pack(">H", 300))
    if depth in (8, 16):
        b = depth // 8
        files[f"ga{depth}.png"] = png(W, H, 4, depth, [bytes(rng.randrange(256) for _ in range(W * 2 * b)) for _ in range(H)])
        files[f"rgb{depth}.png"] = png(W, H, 2, depth, [bytes(rng.randrange(256) for _ in range(W * 3 * b)) for _ in range(H)])
        files[f"rgba{depth}.png"] = png(W, H, 6, depth, [bytes(rng.randrange(256) for _ in range(W * 4 * b)) for _ in range(H)])
    if depth <= 8:
        n = 1 << depth
        plte = bytes(rng.randrange(256) for _ in range(3 * n))
        rows = [packbits(samples(depth, W), depth) if depth < 8 else bytes(samples(8, W)) for _ in range(H)]
        files[f"p{depth}.png"] = png(W, H, 3, depth, rows, plte=plte)
        if depth == 8:
            files["p8_trns.png"] = png(W, H, 3, 8, rows, plte=plte, trns=bytes(rng.randrange(256) for _ in range(40)))
files["rgb8_trns.png"] = png(W, H, 2, 8, [bytes(rng.randrange(4) * 60 for _ in range(W * 3)) for _ in range(H)], trns=struct.pack(">HHH", 0, 60, 120))

base = Image.frombytes("RGB", (W, H), bytes((x * 11 + y * 7 + c * 50 + rng.randrange(30)) % 256 for y in range(H) for x in range(W) for c in range(3)))


def save(im, fmt, **kw):
    b = io.BytesIO(); im.save(b, fmt, **kw); return b.getvalue()


pal = base.quantize(64)
files["transparent.gif"] = save(pal, "GIF", transparency=5)
files["plain.gif"] = save(pal, "GIF")
files["rgba32.bmp"] = save(base.convert("RGBA"), "BMP")
files["p8.bmp"] = save(pal, "BMP")
files["mono.bmp"] = save(base.convert("1"), "BMP")
files["lossless_rgba.webp"] = save(Image.merge("RGBA", (*base.split(), base.convert("L"))), "WEBP", lossless=True)
files["lossy.webp"] = save(base.resize((64, 48)), "WEBP", quality=80)
files["gray.jpg"] = save(base.convert("L"), "JPEG", quality=90)
files["s444.jpg"] = save(base, "JPEG", quality=90, subsampling=0)
files["s422.jpg"] = save(base, "JPEG", quality=90, subsampling=1)
files["odd420.jpg"] = save(base.resize((41, 29)), "JPEG", quality=75, subsampling=2)
files["progressive.jpg"] = save(base.resize((40, 30)), "JPEG", quality=85, progressive=True)
files["cmyk.jpg"] = save(base.convert("CMYK"), "JPEG", quality=90)
for o in range(1, 9):
    ex = Image.Exif(); ex[0x0112] = o
    files[f"orient{o}.jpg"] = save(base, "JPEG", quality=95, exif=ex.tobytes())
ex = Image.Exif(); ex[0x0112] = 8
files["orient8.png"] = save(base, "PNG", exif=ex.tobytes())
ex = Image.Exif(); ex[0x0112] = 5
files["orient5.webp"] = save(base, "WEBP", lossless=True, exif=ex.tobytes())

for name, data in sorted(files.items()):
    with open(os.path.join("pil_decode", name), "wb") as fh:
        fh.write(data)
    im = Image.open(io.BytesIO(data))
    im = ImageOps.exif_transpose(im).convert("RGB")
    with open(os.path.join("pil_decode", name + ".rgb"), "wb") as fh:
        fh.write(struct.pack("<II", *im.size) + im.tobytes())

# Malformed inputs: each must be refused with an error, before allocating.
jpg = save(base, "JPEG")
mal = {
    "empty.bin": b"",
    "garbage.bin": bytes(rng.randrange(256) for _ in range(300)),
    "truncated.jpg": jpg[: len(jpg) // 2],
    "truncated.png": files["rgb8.png"][:120],
    "header_only.gif": files["plain.gif"][:30],
    "huge.png": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""),
    "huge.jpg": b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65000, 65000, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01" + b"\xff\xd9",
    "huge.gif": b"GIF89a" + struct.pack("<HHBBB", 65000, 65000, 0, 0, 0) + b",\x00\x00\x00\x00" + struct.pack("<HH", 65000, 65000) + b"\x00\x02\x02\x4c\x01\x00;",
    "huge.bmp": b"BM" + struct.pack("<IHHI", 200, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 100000, 100000, 1, 24, 0, 0, 0, 0, 0, 0) + b"\x00" * 100,
    "huge.webp": (lambda body: b"RIFF" + struct.pack("<I", 4 + 8 + len(body)) + b"WEBPVP8L" + struct.pack("<I", len(body)) + body)(b"\x2f" + struct.pack("<I", (16383) | (16383 << 14)) + b"\x00" * 8),
    "zero_width.gif": b"GIF89a" + struct.pack("<HHBBB", 0, 10, 0, 0, 0) + b";",
    "short_bmp.bmp": files["rgba32.bmp"][:200],
}
for name, data in mal.items():
    with open(os.path.join("malformed", name), "wb") as fh:
        fh.write(data)
print(len(files), "images,", len(mal), "malformed")
