"""The image families' contract (MODELS.md §5–8), defined once.

The image importer (``components/image_example_gen``), Transform
(``preprocessing/images.py``), the autoencoders and classifier trainers, the
serving graphs and the tests import these names; none of them spells a
feature key, a split or a dataset URL of its own. No TensorFlow import here:
the component and the pipeline definitions read it cheaply.

Why pixels are stored as an int64 list and not as PNG bytes: a fixed-length
``int64`` feature of H*W*C values in [0, 255] (row-major, HWC) is decoded by
``tf.io.parse_example`` alone, so Transform and the serving graph need no
per-image decode op (``decode_png`` is not batched), and StatisticsGen sees
the pixel values themselves: the schema can hold the value domain [0, 255]
and the value count H*W*C, and drift in pixel intensity shows up in the
statistics. GZIP'd TFRecords make the size comparable with PNG.
"""

from __future__ import annotations

# --- Raw examples (what ImageExampleGen writes) -----------------------------
IMAGE = "image"  # int64[H*W*C], 0..255, row-major height, width, channels
LABEL = "label"  # int64 scalar, 0..num_classes-1

# --- Splits -----------------------------------------------------------------
TRAIN, EVAL, TEST = "train", "eval", "test"
# The book's split: the last 5,000 training images are the validation set,
# the official test files (t10k) are the test set.
EVAL_IMAGES = 5_000

# --- Transformed features (what Transform writes, the trainers read) --------
IMAGE_SCALED = "image_scaled"  # float32[H, W, C], scaled as configured
LABEL_XF = LABEL  # passed through unchanged (int64)

# Scalings Transform can apply (its ``scaling`` option):
#   unit         x / 255 -> [0, 1] (autoencoders, classifier; the book's)
#   symmetric    x / 127.5 - 1 -> [-1, 1] (GANs, diffusion)
#   standardize  (x - mean) / std
SCALINGS = ("unit", "symmetric", "standardize")
# Where the statistics come from (its ``statistics`` option):
#   fixed      the nominal pixel range 0..255 (no analyzer; unit/symmetric)
#   global     one min/max or mean/std over every pixel of the train split
#   per_pixel  one per pixel position and channel
STATISTICS = ("fixed", "global", "per_pixel")

# --- Datasets ---------------------------------------------------------------
DEFAULT_SHAPE = (28, 28, 1)  # height, width, channels

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
MNIST_CLASSES = tuple(str(d) for d in range(10))

# The Keras datasets mirror (what keras.datasets downloads).
KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
IDX_FILES = {
    # split -> (images file, labels file), as distributed
    TRAIN: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    TEST: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# SHA-256 of the official files (computed from the byte-identical copies in
# ../shared/datasets; the dataset README lists their MD5s and SHA-1s).
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
MNIST_NPZ = "mnist.npz"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
}

DATASETS = {
    # name -> (class names, the files to fetch from the mirror with their SHA-256)
    "fashion_mnist": (FASHION_MNIST_CLASSES, FASHION_MNIST_SHA256),
    "mnist": (MNIST_CLASSES, {MNIST_NPZ: MNIST_NPZ_SHA256}),
}
