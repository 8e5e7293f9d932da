import type { LibraryCompat } from "./library-compat.js";

// Each row was checked against the library's own documentation (the `source`).
// Where the docs are silent the notes say so and name the issue thread the
// judgement rests on; docs/compatibility.md lists those rows.
const ENTRIES: readonly LibraryCompat[] = [
  {
    name: "numpy",
    distribution: "numpy",
    classification: "safe",
    releasesGil: true,
    notes:
      "The NumPy docs say it supports use from threads and that many operations release the GIL, so threads working " +
      "in low-level code run in parallel. Sharing arrays is fine for reading; concurrently mutating (or resizing) an " +
      "array another thread reads gives racy results and can crash the interpreter.",
    workaround:
      "Let each call own its arrays; treat shared arrays as read-only or guard writes with a lock. Cap BLAS/OpenMP " +
      "threads (OMP_NUM_THREADS or threadpoolctl) so worker threads x BLAS threads does not exceed the cores.",
    source: "https://numpy.org/doc/stable/reference/thread_safety.html",
  },
  {
    name: "scipy",
    distribution: "scipy",
    classification: "safe",
    releasesGil: "partial",
    notes:
      "The SciPy docs say it supports threads, many operations release the GIL, and SciPy functions do not mutate " +
      "input arrays unless documented, so calling them on the same array from several threads is safe. Stateful " +
      "classes (e.g. scipy.integrate.ode) either accept parallel calls or raise an informative error. Some older " +
      "Fortran-backed routines still hold the GIL.",
    workaround:
      "Create stateful objects (integrators, interpolators) per call; apply the NumPy rules for shared arrays and " +
      "cap BLAS threads.",
    source: "https://docs.scipy.org/doc/scipy/tutorial/thread_safety.html",
  },
  {
    name: "pandas",
    distribution: "pandas",
    classification: "conditional",
    releasesGil: "partial",
    notes:
      "The pandas docs state that pandas is not 100% thread safe; the known issues relate to copy() of DataFrames " +
      "shared among threads, and they advise holding locks where shared frames are copied. Lazily computed caches " +
      "(e.g. the Index.is_unique race, pandas-dev/pandas#21150) make even reads of a shared object risky. Frames that " +
      "a call builds and uses alone are unaffected, so this matrix says conditional where the original list said " +
      "unsafe. Only some Cython routines (groupby aggregations and similar) release the GIL.",
    workaround:
      "Build DataFrames inside each call. Never mutate or copy a module-level DataFrame from tool calls without a " +
      "lock; if calls need shared data, load it once at start-up and hand each call its own copy made under a lock.",
    source: "https://pandas.pydata.org/docs/user_guide/gotchas.html#thread-safety",
  },
  {
    name: "polars",
    distribution: "polars",
    classification: "safe",
    releasesGil: true,
    notes:
      "The Polars docs say it is built to use all cores: queries run on its own Rust thread pool (one per process, " +
      "sized by POLARS_MAX_THREADS), and the Python bindings release the GIL while a query runs. Operations return " +
      "new frames rather than mutating shared ones. Python UDFs (map_elements, map_batches) take the GIL back. The " +
      "docs warn against fork-based multiprocessing; Snakepit starts its workers as fresh processes.",
    workaround:
      "Prefer native expressions over Python UDFs. Concurrent queries share the one Polars pool, so there is no need " +
      "to multiply threads; lower POLARS_MAX_THREADS if other libraries also use many threads.",
    source: "https://docs.pola.rs/user-guide/misc/multiprocessing/",
  },
  {
    name: "torch",
    distribution: "torch",
    classification: "safe",
    releasesGil: true,
    notes:
      "PyTorch's autograd notes describe multithreaded use: backward()/grad() may be called from several threads " +
      "concurrently on CPU, and ops run on shared intra-op/inter-op thread pools outside the GIL. What is not " +
      "synchronised is your own shared state: training one module or optimizer from several threads at once.",
    workaround:
      "Load the model once; run each call under torch.inference_mode() (or no_grad) on its own tensors. Call " +
      "torch.set_num_threads(k) at start-up so worker threads x k does not exceed the cores. Do not train the same " +
      "model from concurrent calls.",
    source: "https://docs.pytorch.org/docs/stable/notes/autograd.html#multithreaded-autograd",
  },
  {
    name: "tensorflow",
    distribution: "tensorflow",
    alternativeDistributions: ["tensorflow-cpu", "tensorflow-gpu", "tf-nightly"],
    classification: "safe",
    releasesGil: true,
    notes:
      "TensorFlow's runtime documents that a Session allows concurrent calls to Run(), though it must be created " +
      "and extended by a single thread; ops run on TensorFlow's own inter-/intra-op pools (tf.config.threading). " +
      "The Python-level docs for eager/Keras do not spell out thread safety, so the guarantee is confirmed at the " +
      "runtime level only.",
    workaround:
      "Build or load the model once, before concurrent calls (creation is single-threaded); in calls only run " +
      "inference. Do not fit the same model concurrently. Cap threads with tf.config.threading.set_intra_op_parallelism_threads " +
      "and set_inter_op_parallelism_threads at start-up.",
    source: "https://www.tensorflow.org/api_docs/cc/class/tensorflow/session",
  },
  {
    name: "sklearn",
    distribution: "scikit-learn",
    classification: "conditional",
    releasesGil: "partial",
    notes:
      "scikit-learn's parallelism guide: n_jobs drives joblib (the loky process backend by default) while OpenMP and " +
      "BLAS add their own threads; threading only pays off where the code releases the GIL. Inside N worker threads, " +
      "n_jobs>1 or -1 starts nested process pools and oversubscribes the CPU. Fitting one estimator from several " +
      "threads mutates it, and some native fits are not thread-safe (liblinear, scikit-learn#31883). Predicting with " +
      "a fitted estimator only reads it.",
    workaround:
      "Pass n_jobs=1 in tool calls. Fit per call, or fit once at start-up and only predict afterwards. Limit " +
      "OpenMP/BLAS threads with threadpoolctl.",
    source: "https://scikit-learn.org/stable/computing/parallelism.html",
  },
  {
    name: "matplotlib",
    distribution: "matplotlib",
    classification: "unsafe",
    releasesGil: false,
    notes:
      "The Matplotlib FAQ: 'Matplotlib is not thread-safe: in fact, there are known race conditions that affect " +
      "certain artists'; serialising access is the caller's job. Separate figures from separate threads may work, " +
      "but only with a non-interactive backend (typically Agg), since GUI backends need the main thread. pyplot " +
      "keeps a global current figure that every thread shares. Rendering holds the GIL.",
    workaround:
      "Prefer the process profile. In the thread profile: use the Agg backend and the object-oriented API " +
      "(matplotlib.figure.Figure per call, never pyplot), and serialise rendering with a lock.",
    source: "https://matplotlib.org/stable/users/faq.html#work-with-threads",
  },
  {
    name: "sqlite3",
    distribution: "sqlite3",
    stdlib: true,
    classification: "conditional",
    releasesGil: "partial",
    notes:
      "Python's docs: with check_same_thread=True (the default) a connection raises ProgrammingError when used by a " +
      "thread other than the one that created it; with False it may be shared, but writes may need to be serialised " +
      "by the user, and sqlite3.threadsafety reports the SQLite threading mode. The module works from many threads " +
      "when each has its own connection, so this matrix says conditional where the original list said unsafe. The " +
      "probe reports the linked SQLite library version (sqlite3.sqlite_version) for this entry.",
    workaround:
      "Open a connection per call (or per thread with threading.local); never share a module-level connection. " +
      "Funnel writes through one connection or a lock; WAL mode helps concurrent readers.",
    source: "https://docs.python.org/3/library/sqlite3.html#sqlite3.threadsafety",
  },
  {
    name: "requests",
    distribution: "requests",
    classification: "conditional",
    releasesGil: true,
    notes:
      "The requests docs describe Session objects (cookies, adapters, connection pools: all mutable) but do not " +
      "document them as thread-safe; maintainers said the whole Session class would need auditing " +
      "(psf/requests#2766). The top-level requests.get() builds a fresh Session per call. This matrix says " +
      "conditional where the original list said safe. Socket I/O releases the GIL.",
    workaround:
      "Use one Session per thread (threading.local) or per call, or requests.get() for one-off calls. For a client " +
      "shared by all threads use httpx.Client.",
    source: "https://requests.readthedocs.io/en/latest/user/advanced/#session-objects",
  },
  {
    name: "httpx",
    distribution: "httpx",
    classification: "safe",
    releasesGil: true,
    notes:
      "The httpx.Client docstring in the API reference says 'It can be shared between threads.' AsyncClient belongs " +
      "to the event loop it runs in.",
    workaround:
      "Share one httpx.Client created at start-up. Do not share an AsyncClient across threads or event loops.",
    source: "https://www.python-httpx.org/api/#client",
  },
  {
    name: "aiohttp",
    distribution: "aiohttp",
    classification: "conditional",
    releasesGil: true,
    notes:
      "aiohttp is asyncio-based: a ClientSession and its connector belong to the event loop they run in, and asyncio " +
      "objects are not thread-safe (Python asyncio docs). aiohttp's client reference recommends one long-lived " +
      "session but says nothing about use across threads, so cross-thread sharing is unsupported.",
    workaround:
      "Do not share a ClientSession between tool-call threads. Either run asyncio.run() per call with a session " +
      "created inside it, or keep one event loop on a dedicated thread and submit coroutines with " +
      "asyncio.run_coroutine_threadsafe. For synchronous tools, httpx.Client is simpler.",
    source: "https://docs.aiohttp.org/en/stable/client_reference.html",
  },
  {
    name: "grpc",
    distribution: "grpcio",
    classification: "safe",
    releasesGil: true,
    notes:
      "gRPC's performance guide says to reuse channels and stubs; channel I/O runs in the C core outside the GIL, " +
      "and Google's gRPC-based client libraries document that sharing client instances across threads is safe. " +
      "grpcio's own API reference does not state thread safety in so many words. For Python the guide notes that " +
      "streaming RPCs create extra threads and are slower than unary ones.",
    workaround:
      "Create one channel at start-up and share it; create stubs as needed. Prefer unary RPCs. Do not fork a " +
      "process after creating a channel.",
    source: "https://grpc.io/docs/guides/performance/",
  },
  {
    name: "numexpr",
    distribution: "numexpr",
    classification: "safe",
    minVersion: "2.5",
    releasesGil: true,
    notes:
      "numexpr's release notes: 2.5 added locking so multi-threaded callers are safe (calls were serialised), and " +
      "2.10.2 let evaluate() run concurrently from Python threads. Its virtual machine runs on its own thread pool " +
      "outside the GIL (NUMEXPR_MAX_THREADS / NUMEXPR_NUM_THREADS).",
    workaround:
      "Use 2.10.2 or later for concurrent evaluation. Call numexpr.set_num_threads() at start-up so worker threads " +
      "x numexpr threads does not exceed the cores.",
    source: "https://numexpr.readthedocs.io/en/latest/release_notes.html",
  },
  {
    name: "onnxruntime",
    distribution: "onnxruntime",
    alternativeDistributions: ["onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino"],
    classification: "safe",
    releasesGil: true,
    notes:
      "ONNX Runtime's design doc: 'Multiple threads can invoke the Run() method on the same inference session " +
      "object'; kernels are stateless for this reason. Each session owns an intra-op thread pool, so many calls at " +
      "once can oversubscribe the CPU. GPU execution providers have had concurrency problems in bug reports.",
    workaround:
      "Create one InferenceSession at start-up and share it. Set SessionOptions.intra_op_num_threads to about " +
      "cores / worker threads. With GPU providers, test concurrency first or serialise run().",
    source: "https://onnxruntime.ai/docs/reference/high-level-design.html",
  },
  {
    name: "plotly",
    distribution: "plotly",
    classification: "conditional",
    releasesGil: false,
    notes:
      "Building figures is pure Python and figures made per call are independent. Static image export goes through " +
      "Kaleido; its maintainers state that the synchronous Kaleido server cannot safely be called from several " +
      "threads at once (plotly/Kaleido#444). Plotly's docs do not discuss threads, so that limit comes from the " +
      "issue tracker. This matrix says conditional where the original list said safe.",
    workaround:
      "Build a Figure per call. Returning fig.to_json() needs no Kaleido. Serialise fig.to_image()/write_image() " +
      "with a lock, or export images in the process profile.",
    source: "https://plotly.com/python/static-image-export/",
  },
  {
    name: "psycopg2",
    distribution: "psycopg2",
    alternativeDistributions: ["psycopg2-binary"],
    classification: "safe",
    releasesGil: true,
    notes:
      "The psycopg2 docs: the module and connection objects are thread-safe (DB-API level 2); cursors are not. All " +
      "cursors of one connection share one transaction, and queries on a connection are serialised. Waiting on the " +
      "server does not hold the GIL.",
    workaround:
      "Use psycopg2.pool.ThreadedConnectionPool (or a connection per thread when transactions must be independent); " +
      "create a cursor per call and never share cursors.",
    source: "https://www.psycopg.org/docs/usage.html#thread-and-process-safety",
  },
  {
    name: "transformers",
    distribution: "transformers",
    classification: "conditional",
    releasesGil: "partial",
    notes:
      "The transformers guide on serving pipelines says pipelines and models 'are not really great for " +
      "parallelism' and recommends one consumer fed by a queue. Fast (Rust) tokenizers raise 'RuntimeError: Already " +
      "borrowed' when one tokenizer instance is used by several threads at once (huggingface/tokenizers#537, " +
      "huggingface/transformers#12658). The model forward pass itself runs in torch outside the GIL. This matrix " +
      "says conditional where the original list said safe.",
    workaround:
      "Give each thread its own pipeline or tokenizer (copy.deepcopy the tokenizer), or guard calls with a lock and " +
      "batch inputs; or use the process profile.",
    source: "https://huggingface.co/docs/transformers/pipeline_webserver",
  },
  {
    name: "xgboost",
    distribution: "xgboost",
    classification: "conditional",
    minVersion: "1.4.0",
    releasesGil: true,
    notes:
      "XGBoost's prediction docs: after 1.4 all prediction functions (predict, SHAP values, inplace_predict) are " +
      "thread safe for gbtree and dart boosters; training in one thread while predicting in another with the same " +
      "model is undefined. gblinear is not covered. Native calls go through ctypes, which releases the GIL.",
    workaround:
      "Train or load the booster once; in calls only predict. Set nthread (n_jobs) so worker threads x nthread does " +
      "not exceed the cores.",
    source: "https://xgboost.readthedocs.io/en/stable/prediction.html#thread-safety",
  },
  {
    name: "lightgbm",
    distribution: "lightgbm",
    classification: "conditional",
    releasesGil: true,
    notes:
      "LightGBM's docs describe num_threads (OpenMP threads per call; the default uses every core) but not thread " +
      "safety. Maintainers stated prediction with the same model and iteration count is thread-safe behind a lock " +
      "(LightGBM#666); an open report describes data races when a Booster is shared for the single-row fast " +
      "prediction API (LightGBM#6142). Native calls go through ctypes, which releases the GIL.",
    workaround:
      "Load the booster once and only predict in calls, passing num_threads=1 (or cores / worker threads). Use a " +
      "Booster per thread with the single-row fast API. Never train while other threads predict.",
    source: "https://lightgbm.readthedocs.io/en/latest/Parameters.html#num_threads",
  },
  {
    name: "jax",
    distribution: "jax",
    classification: "conditional",
    releasesGil: true,
    notes:
      "JAX's concurrency page: JAX has limited support for Python concurrency; clients may call JAX APIs such as " +
      "jit() or grad() concurrently from separate threads, but must not manipulate trace values concurrently, i.e. " +
      "no threading inside a function being traced. Compiled computations run in XLA outside the GIL.",
    workaround:
      "jit-compile and warm up functions at start-up; call the compiled functions from tool calls; never start " +
      "threads inside traced code. XLA preallocates accelerator memory per process.",
    source: "https://docs.jax.dev/en/latest/concurrency.html",
  },
  {
    name: "cv2",
    distribution: "opencv-python",
    alternativeDistributions: ["opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"],
    classification: "conditional",
    releasesGil: true,
    notes:
      "OpenCV documents cv::setNumThreads as not thread-safe ('must not be called in parallel region or concurrent " +
      "threads'); OpenCV parallelises inside its functions on its own pool. Its Python bindings release the GIL " +
      "around native calls. Mats (NumPy arrays) follow the NumPy sharing rules; HighGUI calls (imshow, waitKey) " +
      "need the main thread.",
    workaround:
      "Call cv2.setNumThreads() once at start-up (1, or cores / worker threads). Let each call own its images; no " +
      "GUI calls in tools; one VideoCapture per thread.",
    source: "https://docs.opencv.org/4.x/db/de0/group__core__utils.html",
  },
  {
    name: "PIL",
    distribution: "pillow",
    classification: "conditional",
    releasesGil: true,
    notes:
      "Pillow's thread-safety page: Pillow can be used from multiple threads, on GIL and free-threaded builds; many " +
      "operations release the GIL while processing pixels. Separate images in separate threads are safe, and so is " +
      "reading a loaded image shared between threads (call load() first); modifying an image while another thread " +
      "uses it (paste, putpixel, ImageDraw, ...) is not. The page is in the 'latest' docs and may be newer than " +
      "older releases.",
    workaround:
      "Open and process images per call. If an image is shared, load() it once before sharing and never change it " +
      "in place.",
    source: "https://pillow.readthedocs.io/en/latest/handbook/thread-safety.html",
  },
  {
    name: "sqlalchemy",
    distribution: "sqlalchemy",
    classification: "conditional",
    releasesGil: true,
    notes:
      "SQLAlchemy's session docs: the Session is a mutable, stateful object representing one transaction and " +
      "'cannot be shared among concurrent threads or asyncio tasks without careful synchronization'; the model is a " +
      "Session per thread. The Engine and its connection pool are meant to be shared. Database I/O happens in the " +
      "driver, outside the GIL for C drivers.",
    workaround:
      "Create the Engine once at start-up; open a Session per call (with Session(engine) as session: ...) or use " +
      "scoped_session. Size the pool (pool_size + max_overflow) for the worker thread count.",
    source:
      "https://docs.sqlalchemy.org/en/20/orm/session_basics.html#is-the-session-thread-safe-is-asyncsession-safe-to-share-in-concurrent-tasks",
  },
  {
    name: "spacy",
    distribution: "spacy",
    classification: "unsafe",
    releasesGil: "partial",
    notes:
      "spaCy's docs offer process-based parallelism (nlp.pipe(n_process=...)) and note that the Vocab and " +
      "StringStore grow as texts are processed, so every call mutates state shared by all threads using one nlp " +
      "object. The docs give no thread-safety guarantee; users report unstable results (explosion/spaCy#6398) and " +
      "'Already borrowed' errors with transformer pipelines (explosion/spaCy#6879) when nlp is shared across threads.",
    workaround:
      "Use the process profile. In the thread profile, load one nlp per thread (memory cost) or guard nlp() with a " +
      "lock and batch with nlp.pipe().",
    source: "https://spacy.io/usage/processing-pipelines#multiprocessing",
  },
  {
    name: "cupy",
    distribution: "cupy",
    alternativeDistributions: ["cupy-cuda12x", "cupy-cuda11x", "cupy-rocm-5-0"],
    classification: "conditional",
    releasesGil: "partial",
    notes:
      "CuPy enqueues work on the current CUDA stream and device (see its CUDA guide); threads of one worker share " +
      "the GPU, the memory pool and, unless told otherwise, the default stream, so concurrent calls serialise on " +
      "the device and contend for memory. CuPy's docs do not state a thread-safety guarantee for its objects.",
    workaround:
      "Give each call its own stream (with cp.cuda.Stream(non_blocking=True): ...) and its own arrays; or serialise " +
      "GPU work; or run one worker process per GPU.",
    source: "https://docs.cupy.dev/en/stable/user_guide/cuda_api.html",
  },
  {
    name: "faiss",
    distribution: "faiss-cpu",
    alternativeDistributions: ["faiss-gpu", "faiss-gpu-cu12", "faiss-gpu-cu11", "faiss"],
    classification: "conditional",
    releasesGil: true,
    notes:
      "Faiss's wiki: CPU indices are thread-safe for concurrent searches and other operations that do not change " +
      "the index; changing an index from several threads needs mutual exclusion. GPU indices are not thread-safe, " +
      "even for reads. The Python interface releases the GIL for all calls, and search/add/train use OpenMP.",
    workaround:
      "Build the index at start-up; search concurrently on CPU; lock around add/train/remove. For GPU indices use a " +
      "StandardGpuResources per thread or serialise. Batch queries and cap OpenMP threads (faiss.omp_set_num_threads).",
    source: "https://github.com/facebookresearch/faiss/wiki/Threads-and-asynchronous-calls",
  },
  {
    name: "fasttext",
    distribution: "fasttext",
    alternativeDistributions: ["fasttext-wheel"],
    classification: "conditional",
    releasesGil: false,
    notes:
      "fastText's Python docs say nothing about threads. A maintainer states that FastText::predict is thread safe " +
      "because it allocates its state per call (facebookresearch/fastText#771); training and quantisation mutate " +
      "the model. This matrix says conditional where the original list said unsafe, on the strength of that " +
      "statement rather than the docs.",
    workaround:
      "Load the model once at start-up and only call predict() from tool calls; train or quantise in the process " +
      "profile.",
    source: "https://fasttext.cc/docs/en/python-module.html",
  },
  {
    name: "ray",
    distribution: "ray",
    classification: "conditional",
    releasesGil: true,
    notes:
      "Ray's docs: ray.init() starts or attaches to a Ray runtime of background processes, and is called " +
      "implicitly on first use of a remote API (Ray >= 1.5). Ray is its own distributed scheduler, so its " +
      "parallelism lives in Ray workers, not Snakepit threads. In the process profile every Snakepit worker that " +
      "calls ray.init() without an address starts its own local Ray instance. Ray's docs do not state whether its " +
      "client API may be called from several threads. This matrix says conditional where the original list said " +
      "unsafe.",
    workaround:
      "Start Ray once (ray start) and call ray.init(address='auto') at worker start-up, not inside tool calls; " +
      "never call ray.shutdown() from a call. Submit tasks and ray.get() results from calls.",
    source: "https://docs.ray.io/en/latest/ray-core/starting-ray.html",
  },
  {
    name: "celery",
    distribution: "celery",
    classification: "conditional",
    releasesGil: true,
    notes:
      "Celery's application guide: 'The application is thread-safe so that multiple Celery applications ... can " +
      "co-exist in the same process space.' Waiting for results from several threads at once (AsyncResult.get()) " +
      "has open reports of corrupted responses (celery/celery#4480, #6414); Celery 5.3 added an opt-in " +
      "result_backend_thread_safe setting. This matrix says conditional where the original list said unsafe.",
    workaround:
      "Create the app at import; sending tasks (apply_async, send_task) from calls is fine. Avoid blocking .get() " +
      "in concurrent calls or serialise it. Never run a Celery worker inside a Snakepit worker.",
    source: "https://docs.celeryq.dev/en/stable/userguide/application.html",
  },
  {
    name: "boto3",
    distribution: "boto3",
    classification: "conditional",
    releasesGil: true,
    notes:
      "The boto3 guide: low-level clients are thread safe and can be shared; Session and Resource objects are not " +
      "and should be created per thread.",
    workaround:
      "Create clients once at start-up and share them; create a boto3.session.Session() (and any resources) per " +
      "thread or per call.",
    source: "https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients",
  },
  {
    name: "redis",
    distribution: "redis",
    classification: "safe",
    releasesGil: true,
    notes:
      "redis-py's docs: client instances can be shared between threads (connections are taken from the pool per " +
      "command); SELECT is not implemented for that reason; PubSub and Pipeline objects must not be passed between " +
      "threads.",
    workaround:
      "Share one redis.Redis client; create pipelines and PubSub objects per call; use one client per database.",
    source: "https://redis.readthedocs.io/en/stable/advanced_features.html#a-note-about-threading",
  },
];

function deepFreeze(entry: LibraryCompat): LibraryCompat {
  if (entry.alternativeDistributions !== undefined) Object.freeze(entry.alternativeDistributions);
  return Object.freeze(entry);
}

/**
 * The thread-safety matrix: how popular Python libraries behave when several
 * tool calls run on threads of one worker process. Frozen; see
 * `docs/compatibility.md` for the same data as a table.
 */
export const COMPAT_MATRIX: readonly LibraryCompat[] = Object.freeze(ENTRIES.map(deepFreeze));
