# Regenerates the baseline-JPEG cases of testdata/pil_decode/ that Pillow's
# own encoder cannot write — restart intervals, 4:4:0 sampling, 16-bit
# quantisation tables (SOF1) — with libjpeg-turbo's cjpeg and jpegtran
# (Debian libjpeg-turbo-progs), each with <name>.rgb = PIL's decode (Pillow
# 9.4: Image.open + convert("RGB")), in gen_pil_decode.py's format. Not
# needed by any test; run `python3 gen_jpeg_baseline.py`.
import io, os, random, struct, subprocess, tempfile
import PIL
from PIL import Image

assert PIL.__version__ == "9.4.0", PIL.__version__
rng = random.Random(13)
W, H = 45, 37
base = Image.frombytes("RGB", (W, H), bytes((x * 9 + y * 5 + c * 70 + rng.randrange(40)) % 256 for y in range(H) for x in range(W) for c in range(3)))


def cjpeg(im, *args):
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.ppm" if im.mode == "RGB" else "in.pgm")
        im.save(src)
        return subprocess.run(["cjpeg", *args, src], check=True, capture_output=True).stdout


def jpegtran(data, *args):
    return subprocess.run(["jpegtran", *args], input=data, check=True, capture_output=True).stdout


files = {
    "s440.jpg": cjpeg(base, "-quality", "85", "-sample", "1x2,1x1,1x1"),
    "rst1_420.jpg": cjpeg(base, "-quality", "80", "-sample", "2x2,1x1,1x1", "-restart", "1B"),
    "rst3_444.jpg": cjpeg(base, "-quality", "92", "-sample", "1x1,1x1,1x1", "-restart", "3B"),
    "rst1row_422.jpg": cjpeg(base, "-quality", "70", "-sample", "2x1,1x1,1x1", "-restart", "1"),
    "rst2_gray.jpg": cjpeg(base.convert("L"), "-quality", "90", "-restart", "2B"),
    "q16_sof1.jpg": cjpeg(base, "-quality", "3"),  # tables above 255: 16-bit DQT, SOF1
    "optimized_420.jpg": cjpeg(base, "-quality", "60", "-optimize"),
}
files["rst5_tran.jpg"] = jpegtran(files["optimized_420.jpg"], "-restart", "5B")

for name, data in sorted(files.items()):
    with open(os.path.join("pil_decode", name), "wb") as fh:
        fh.write(data)
    im = Image.open(io.BytesIO(data)).convert("RGB")
    with open(os.path.join("pil_decode", name + ".rgb"), "wb") as fh:
        fh.write(struct.pack("<II", *im.size) + im.tobytes())
