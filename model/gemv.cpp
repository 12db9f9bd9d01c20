// The integer GEMV over the packed chip format (quantizer.h) and the thread pool it runs on.
// The portable kernel decodes each row with QuantizedMatrix::unpack_row and sums with
// fx::dot_i8: it is the reference. The AVX-512 VNNI and AVX2 kernels (the best the CPU has is
// chosen at run time)
// decode the 3-, 4- and 6-bit block layouts in registers (packing.cpp describes them) and must
// give the same bits: every sum is an exact integer sum, only its order differs, and the bounds
// noted at each kernel keep every intermediate inside its lane. Rows are split across threads
// in contiguous ranges, so the thread count cannot change a result either.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "common/error.h"
#include "model/fixed_point.h"
#include "model/quantizer.h"

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 headers start several intrinsics from _mm512_undefined_*(), a self-initialised
// variable that -Wuninitialized reports wherever they are inlined (a false positive of GCC 12:
// the value is never read). The pragma covers the header's lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#define HW_HAVE_X86 1
#endif

namespace hw {
namespace {

constexpr int64_t kBlock = 64;   // columns per packed block
constexpr int64_t kChunk = 32;   // columns per half block (the group-32 case)
// Software prefetch distance of the streamed weights: a batch-1 GEMV is bound by how many
// cache misses are in flight, and with the hardware prefetcher alone the 1B decode ran at half
// the speed (docs/benchmarks.md). The AVX2 kernels look kPrefetchRows rows ahead (same
// columns); the VNNI kernels read one row after another and look kPrefetchBytes ahead in the
// stream (8-16 KiB measured best on the AMD EPYC of docs/benchmarks.md, 4 KiB ~10% slower).
constexpr int64_t kPrefetchRows = 4;
constexpr int64_t kPrefetchBytes = 16384;
// Smallest share of weight bytes worth waking a thread for (a wake-up costs ~10-50 us).
constexpr int64_t kMinBytesPerThread = int64_t{1} << 17;

// ---------------------------------------------------------------------------------------------
// Thread pool: workers wait for a task number to change (a short spin, then a condition
// variable) and claim contiguous chunks of the range alongside the caller.

int default_threads() {
  if (const char* env = std::getenv("HARDWIRE_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

inline void cpu_relax() {
#if HW_HAVE_X86
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

constexpr int kSpinIterations = 4000;

class ComputePool {
 public:
  static ComputePool& get() {
    static ComputePool pool;
    return pool;
  }
  ~ComputePool() { stop_workers(); }

  void set_threads(int n) {
    std::lock_guard<std::mutex> run(run_mutex_);
    stop_workers();
    threads_ = n >= 1 ? n : default_threads();
  }
  int threads() const { return threads_; }

  // [0, n) is cut into chunks of whole `align` units, about kChunksPerThread per thread and
  // none under `grain`; every thread (the caller too) claims the next unclaimed chunk until none
  // is left. A thread that the OS has descheduled therefore holds back at most the one chunk it
  // claimed, where a fixed range per thread would hold back its whole share.
  void run(int64_t n, int64_t grain, int64_t align, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    const int64_t by_grain = std::max<int64_t>(1, n / std::max<int64_t>(grain, 1));
    const int parts = static_cast<int>(std::min<int64_t>(threads_, by_grain));
    std::unique_lock<std::mutex> run(run_mutex_, std::try_to_lock);
    // Serial: one thread, a nested or concurrent call, or a forked child (no workers there).
    if (parts <= 1 || !run.owns_lock() || (pid_ != 0 && pid_ != getpid())) {
      fn(0, n);
      return;
    }
    start_workers();
    const int64_t units = (n + align - 1) / align;
    const int64_t grain_units = std::max<int64_t>(1, (grain + align - 1) / align);
    const int64_t want = parts * kChunksPerThread;
    const int64_t chunk_units = std::max(grain_units, (units + want - 1) / want);
    n_.store(n, std::memory_order_relaxed);
    chunk_.store(chunk_units * align, std::memory_order_relaxed);
    const int64_t chunks = (units + chunk_units - 1) / chunk_units;
    chunks_.store(chunks, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    fn_.store(&fn, std::memory_order_relaxed);
    error_ = nullptr;
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      gen = (claim_.load(std::memory_order_relaxed) >> 32) + 1;
      claim_.store(gen << 32, std::memory_order_release);
    }
    cv_.notify_all();
    work(gen);
    for (int i = 0; i < kSpinIterations && done_.load(std::memory_order_acquire) != chunks; ++i) cpu_relax();
    if (done_.load(std::memory_order_acquire) != chunks) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire) == chunks; });
    }
    fn_.store(nullptr, std::memory_order_relaxed);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr int64_t kChunksPerThread = 4;

  ComputePool() : threads_(default_threads()) {}

  void record_error(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = e;
  }

  // Claims and runs chunks of task `gen` while there are any. claim_ holds the task's number in
  // its high 32 bits and the next chunk in the low 32: a thread that woke late for an earlier
  // task fails the compare-exchange and claims nothing. A claimed chunk keeps its task (and the
  // fields read below) alive, since the caller returns only when every chunk is done.
  void work(uint64_t gen) {
    for (;;) {
      uint64_t c = claim_.load(std::memory_order_acquire);
      int64_t index = 0;
      for (;;) {
        if ((c >> 32) != gen) return;
        index = static_cast<int64_t>(c & 0xFFFFFFFFu);
        if (index >= chunks_.load(std::memory_order_relaxed)) return;
        if (claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
      }
      const int64_t n = n_.load(std::memory_order_relaxed);
      const int64_t chunk = chunk_.load(std::memory_order_relaxed);
      const int64_t begin = index * chunk;
      try {
        (*fn_.load(std::memory_order_relaxed))(begin, std::min(n, begin + chunk));
      } catch (...) {
        record_error(std::current_exception());
      }
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks_.load(std::memory_order_relaxed)) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_cv_.notify_one();
      }
    }
  }

  void start_workers() {
    if (!workers_.empty()) return;
    pid_ = getpid();
    stop_.store(false);
    // Each worker starts from the task before the first one is posted, whenever it actually
    // begins to run.
    const uint64_t start = claim_.load(std::memory_order_acquire) >> 32;
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, start] { worker(start); });
  }

  void stop_workers() {
    if (workers_.empty()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
      claim_.store(((claim_.load(std::memory_order_relaxed) >> 32) + 1) << 32, std::memory_order_release);
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  void worker(uint64_t seen) {
    auto task = [&] { return claim_.load(std::memory_order_acquire) >> 32; };
    for (;;) {
      for (int i = 0; i < kSpinIterations && task() == seen; ++i) cpu_relax();
      if (task() == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return task() != seen; });
      }
      seen = task();
      if (stop_.load()) return;
      work(seen);
    }
  }

  int threads_ = 1;
  pid_t pid_ = 0;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::mutex error_mutex_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> n_{0}, chunk_{1}, chunks_{0}, done_{0};
  std::atomic<const std::function<void(int64_t, int64_t)>*> fn_{nullptr};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

// ---------------------------------------------------------------------------------------------
// Per-call sums of x: per 32-column chunk (packed kernels subtract offset * sum x).

struct XSums {
  std::vector<int16_t> chunk_;  // [cols / 32], |sum| <= 32 * 127
  std::vector<int64_t> group_;  // [groups_per_row] when groups are not 32 wide
};

XSums x_sums(const QuantizedMatrix& w, const int8_t* x) {
  XSums s;
  const int64_t chunks = w.cols_ / kChunk;
  s.chunk_.resize(static_cast<size_t>(chunks));
  for (int64_t k = 0; k < chunks; ++k) {
    int32_t t = 0;
    for (int64_t c = 0; c < kChunk; ++c) t += x[k * kChunk + c];
    s.chunk_[static_cast<size_t>(k)] = static_cast<int16_t>(t);
  }
  if (!(w.groups_per_row_ > 1 && w.group_size_ == kChunk)) {
    s.group_.assign(static_cast<size_t>(w.groups_per_row_), 0);
    const int64_t chunks_per_group = chunks / w.groups_per_row_;
    for (int64_t k = 0; k < chunks; ++k) {
      s.group_[static_cast<size_t>(k / chunks_per_group)] += s.chunk_[static_cast<size_t>(k)];
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Portable reference kernel.

void gemv_portable(const QuantizedMatrix& w, const int8_t* x, int64_t r0, int64_t r1, int64_t* acc) {
  const int64_t gs = w.group_size_;
  std::vector<int8_t> row(static_cast<size_t>(w.cols_));
  for (int64_t r = r0; r < r1; ++r) {
    w.unpack_row(r, row.data());
    const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
    int64_t sum = 0;
    for (int64_t g = 0; g < w.groups_per_row_; ++g) {
      const int64_t c0 = g * gs;
      const int64_t n = std::min(gs, w.cols_ - c0);
      sum += static_cast<int64_t>(fx::dot_i8(row.data() + c0, x + c0, n)) * m[g];
    }
    acc[r] = sum;
  }
}

#if HW_HAVE_X86
// Prefetches byte `offset` of [base, base + size), clamped to the last byte, so the address
// formed never leaves the array however far ahead the caller looks.
inline void prefetch_within(const void* base, size_t size, size_t offset) {
  const size_t at = offset < size ? offset : size - 1;
  _mm_prefetch(static_cast<const char*>(base) + at, _MM_HINT_T0);
}

__attribute__((target("avx2"))) inline int32_t hsum_avx2(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) inline int64_t hsum64_avx2(__m256i v32) {
  const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v32));
  const __m256i hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v32, 1));
  const __m256i s = _mm256_add_epi64(lo, hi);
  const __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  return _mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1);
}

// ---- int8 container. |x| (unsigned) times sign(x) * w (signed) with maddubs: pair sums are at
// most 2 * 127 * 127, so the int16 saturation of maddubs never triggers.
__attribute__((target("avx2"))) inline __m256i mac_avx2(__m256i acc, __m256i ax, __m256i xv,
                                                         const int8_t* w, __m256i ones) {
  const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv, xv));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
}

__attribute__((target("avx2"))) int32_t dot_avx2(const int8_t* w, const int8_t* x, int64_t n) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    acc = mac_avx2(acc, _mm256_abs_epi8(xv), xv, w + i, ones);
  }
  int32_t s = hsum_avx2(acc);
  for (; i < n; ++i) s += static_cast<int32_t>(w[i]) * x[i];
  return s;
}

// Per-channel int8: four rows at a time share the activation loads.
__attribute__((target("avx2"))) void gemv_i8_rows_avx2(const QuantizedMatrix& w, const int8_t* x,
                                                      int64_t r0, int64_t r1, int64_t* acc) {
  const int64_t n = w.cols_;
  const int8_t* base = reinterpret_cast<const int8_t*>(w.packed_.data());
  const __m256i ones = _mm256_set1_epi16(1);
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const int8_t* w0 = base + r * n;
    const int8_t* w1 = w0 + n;
    const int8_t* w2 = w1 + n;
    const int8_t* w3 = w2 + n;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const size_t ahead = static_cast<size_t>((r + kPrefetchRows) * n + i);
      for (int64_t k = 0; k < 4; ++k) {
        prefetch_within(base, w.packed_.size(), ahead + static_cast<size_t>(k * n));
      }
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
      const __m256i ax = _mm256_abs_epi8(xv);
      a0 = mac_avx2(a0, ax, xv, w0 + i, ones);
      a1 = mac_avx2(a1, ax, xv, w1 + i, ones);
      a2 = mac_avx2(a2, ax, xv, w2 + i, ones);
      a3 = mac_avx2(a3, ax, xv, w3 + i, ones);
    }
    int32_t s[4] = {hsum_avx2(a0), hsum_avx2(a1), hsum_avx2(a2), hsum_avx2(a3)};
    for (; i < n; ++i) {
      s[0] += static_cast<int32_t>(w0[i]) * x[i];
      s[1] += static_cast<int32_t>(w1[i]) * x[i];
      s[2] += static_cast<int32_t>(w2[i]) * x[i];
      s[3] += static_cast<int32_t>(w3[i]) * x[i];
    }
    for (int k = 0; k < 4; ++k) acc[r + k] = static_cast<int64_t>(s[k]) * w.scale_m_[r + k];
  }
  for (; r < r1; ++r) {
    acc[r] = static_cast<int64_t>(dot_avx2(base + r * n, x, n)) * w.scale_m_[r];
  }
}

__attribute__((target("avx2"))) void gemv_i8_groups_avx2(const QuantizedMatrix& w, const int8_t* x,
                                                        int64_t r0, int64_t r1, int64_t* acc) {
  const int64_t gs = w.group_size_;
  const int8_t* base = reinterpret_cast<const int8_t*>(w.packed_.data());
  for (int64_t r = r0; r < r1; ++r) {
    const int8_t* row = base + r * w.cols_;
    const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
    int64_t sum = 0;
    for (int64_t g = 0; g < w.groups_per_row_; ++g) {
      const int64_t c0 = g * gs;
      sum += static_cast<int64_t>(dot_avx2(row + c0, x + c0, std::min(gs, w.cols_ - c0))) * m[g];
    }
    acc[r] = sum;
  }
}

// ---- Packed containers: decode one 64-column block into u for columns 0..31 (a) and 32..63 (b).
template <int S>
__attribute__((target("avx2"))) inline void decode_avx2(const uint8_t* p, __m256i& a, __m256i& b);

template <>
__attribute__((target("avx2"))) inline void decode_avx2<4>(const uint8_t* p, __m256i& a, __m256i& b) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  a = _mm256_and_si256(bytes, mask);
  b = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask);
}

// The 2-bit fields of a pair plane (16 bytes): columns 0..31 sit at shifts 0 (low lane) and 2
// (high lane), columns 32..63 at 4 and 6; srlv shifts each 32-bit element by its lane's count
// and the mask drops the bits shifted in from the neighbouring byte.
__attribute__((target("avx2"))) inline void pair_plane_avx2(const uint8_t* p, __m256i& a, __m256i& b) {
  const __m256i three = _mm256_set1_epi8(3);
  const __m256i h = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  a = _mm256_and_si256(_mm256_srlv_epi32(h, _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2)), three);
  b = _mm256_and_si256(_mm256_srlv_epi32(h, _mm256_setr_epi32(4, 4, 4, 4, 6, 6, 6, 6)), three);
}

template <>
__attribute__((target("avx2"))) inline void decode_avx2<6>(const uint8_t* p, __m256i& a, __m256i& b) {
  decode_avx2<4>(p, a, b);
  __m256i ha, hb;
  pair_plane_avx2(p + 32, ha, hb);
  a = _mm256_or_si256(a, _mm256_slli_epi16(ha, 4));
  b = _mm256_or_si256(b, _mm256_slli_epi16(hb, 4));
}

// Bit c of a 32-bit word to byte c of a vector, as 4 or 0.
__attribute__((target("avx2"))) inline __m256i bit_plane_avx2(uint32_t word) {
  const __m256i idx = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                       2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int32_t>(word)), idx);
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(4));
}

template <>
__attribute__((target("avx2"))) inline void decode_avx2<3>(const uint8_t* p, __m256i& a, __m256i& b) {
  pair_plane_avx2(p, a, b);
  uint64_t hi = 0;
  for (int k = 0; k < 8; ++k) hi |= static_cast<uint64_t>(p[16 + k]) << (8 * k);
  a = _mm256_or_si256(a, bit_plane_avx2(static_cast<uint32_t>(hi)));
  b = _mm256_or_si256(b, bit_plane_avx2(static_cast<uint32_t>(hi >> 32)));
}

// sum_k m[k] * xs[k] over n chunks (m < 2^16, |xs| <= 32 * 127): products of a madd lane pair
// stay below 2^31 only for m < 2^15, which scale mantissas are (scale_bits <= 15).
__attribute__((target("avx2"))) inline int64_t scale_dot_avx2(const uint16_t* m, const int16_t* xs,
                                                             int64_t n) {
  __m256i acc = _mm256_setzero_si256();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m256i p = _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + k)),
                                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xs + k)));
    acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(p)));
    acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(p, 1)));
  }
  const __m128i t = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  int64_t sum = _mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1);
  for (; k < n; ++k) sum += static_cast<int64_t>(m[k]) * xs[k];
  return sum;
}

// u = v + O with O = 2^(S-1): sum v x = sum u x - O * sum x. maddubs multiplies the unsigned u
// by the signed x: a pair is at most 2 * (2O - 1) * 127 (16,002 for S = 6), inside int16. With
// group-32 scales, madd against the broadcast mantissa (< 2^15) gives a lane at most
// 2 * 2 * pair * 32767 per block: 4 blocks fit int32 for S <= 4, 1 block for S = 6, after which
// the lanes are widened to int64 (kFlush).
template <int S>
__attribute__((target("avx2"))) void gemv_packed_avx2(const QuantizedMatrix& w, const int8_t* x,
                                                     const XSums& xs, int64_t r0, int64_t r1,
                                                     int64_t* acc) {
  constexpr int64_t kOffset = int64_t{1} << (S - 1);
  constexpr int64_t kBlockBytes = 8 * S;
  constexpr int64_t kFlush = S == 6 ? 1 : 4;
  const int64_t blocks = w.cols_ / kBlock;
  const int64_t row_bytes = blocks * kBlockBytes;
  const bool group32 = w.groups_per_row_ > 1 && w.group_size_ == kChunk;
  const int64_t blocks_per_group = w.groups_per_row_ == 1 ? blocks : w.group_size_ / kBlock;
  const int64_t chunks = w.cols_ / kChunk;
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* base = w.packed_.data();
  const size_t size = w.packed_.size();
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wp = base + r * row_bytes;
    const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
    const size_t ahead = static_cast<size_t>((r + kPrefetchRows) * row_bytes);
    int64_t sum = 0;
    if (group32) {
      __m256i acc32 = _mm256_setzero_si256();
      for (int64_t b = 0; b < blocks; ++b) {
        prefetch_within(base, size, ahead + static_cast<size_t>(b * kBlockBytes));
        if (kBlockBytes > 32) prefetch_within(base, size, ahead + static_cast<size_t>(b * kBlockBytes + 32));
        __m256i ua, ub;
        decode_avx2<S>(wp + b * kBlockBytes, ua, ub);
        const __m256i pa = _mm256_maddubs_epi16(ua, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + b * kBlock)));
        const __m256i pb = _mm256_maddubs_epi16(ub, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + b * kBlock + 32)));
        const __m256i ma = _mm256_set1_epi16(static_cast<int16_t>(m[2 * b]));
        const __m256i mb = _mm256_set1_epi16(static_cast<int16_t>(m[2 * b + 1]));
        acc32 = _mm256_add_epi32(acc32, _mm256_add_epi32(_mm256_madd_epi16(pa, ma),
                                                         _mm256_madd_epi16(pb, mb)));
        if ((b + 1) % kFlush == 0) {
          sum += hsum64_avx2(acc32);
          acc32 = _mm256_setzero_si256();
        }
      }
      sum += hsum64_avx2(acc32);
      sum -= kOffset * scale_dot_avx2(m, xs.chunk_.data(), chunks);
    } else {
      // pa + pb <= 2 * 16,002 fits int16; a lane gains at most 2 * 32,004 per block, and a
      // group has at most 2^17 / 64 blocks: int32 holds the group sum.
      for (int64_t g = 0; g < w.groups_per_row_; ++g) {
        __m256i acc32 = _mm256_setzero_si256();
        for (int64_t b = g * blocks_per_group; b < (g + 1) * blocks_per_group; ++b) {
          prefetch_within(base, size, ahead + static_cast<size_t>(b * kBlockBytes));
          if (kBlockBytes > 32) prefetch_within(base, size, ahead + static_cast<size_t>(b * kBlockBytes + 32));
          __m256i ua, ub;
          decode_avx2<S>(wp + b * kBlockBytes, ua, ub);
          const __m256i pa = _mm256_maddubs_epi16(ua, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + b * kBlock)));
          const __m256i pb = _mm256_maddubs_epi16(ub, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + b * kBlock + 32)));
          acc32 = _mm256_add_epi32(acc32, _mm256_madd_epi16(_mm256_add_epi16(pa, pb), ones));
        }
        sum += (hsum64_avx2(acc32) - kOffset * xs.group_[static_cast<size_t>(g)]) * m[g];
      }
    }
    acc[r] = sum;
  }
}

void gemv_avx2_range(const QuantizedMatrix& w, const int8_t* x, const XSums& xs, int64_t r0,
                     int64_t r1, int64_t* acc) {
  switch (w.storage_bits_) {
    case 3:
      gemv_packed_avx2<3>(w, x, xs, r0, r1, acc);
      return;
    case 4:
      gemv_packed_avx2<4>(w, x, xs, r0, r1, acc);
      return;
    case 6:
      gemv_packed_avx2<6>(w, x, xs, r0, r1, acc);
      return;
    default:
      if (w.groups_per_row_ == 1) {
        gemv_i8_rows_avx2(w, x, r0, r1, acc);
      } else {
        gemv_i8_groups_avx2(w, x, r0, r1, acc);
      }
  }
}

// ---- AVX-512 VNNI: vpdpbusd multiplies unsigned by signed bytes and adds four products into an
// int32 lane with no int16 step, so 64 columns take one instruction per row.
#define HW_VNNI __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))

HW_VNNI inline int64_t hsum64_512(__m512i v32) {
  const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v32));
  const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v32, 1));
  return _mm512_reduce_add_epi64(_mm512_add_epi64(lo, hi));
}

// a + dpbusd(|x|, w negated where x < 0) over the 64 (or m-masked) bytes at row.
HW_VNNI inline __m512i signed_dot_step(const int8_t* row, __m512i ax, __mmask64 neg, __mmask64 m,
                                       __m512i a) {
  const __m512i wv = _mm512_maskz_loadu_epi8(m, row);
  return _mm512_dpbusd_epi32(a, ax, _mm512_mask_sub_epi8(wv, neg, _mm512_setzero_si512(), wv));
}

// One packed block's 64 u values in one register, byte c = column c, decoded at full width:
// the nibble plane is broadcast to both halves and the upper half shifted down by 4; the pair
// plane is broadcast to all four 128-bit lanes and lane L shifted by 2L (columns 16L..16L+15);
// the bit plane of S = 3 is loaded as a mask register and adds 4 to the columns it marks.
HW_VNNI inline __m512i nibble_plane_512(const uint8_t* p) {
  const __m512i bytes = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_and_si512(_mm512_mask_srli_epi16(bytes, 0xFFFF0000u, bytes, 4), _mm512_set1_epi8(0x0F));
}

HW_VNNI inline __m512i pair_plane_raw_512(const uint8_t* p) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <int S>
HW_VNNI inline __m512i block_u_512(const uint8_t* p);

template <>
HW_VNNI inline __m512i block_u_512<4>(const uint8_t* p) {
  return nibble_plane_512(p);
}

// u = nibble | pair << 4: rotating each 64-bit element left by 4, 2, 0, 62 brings lane L's field
// to bits 4..5 of its own byte; the ternary op keeps those bits and ORs in the nibble.
template <>
HW_VNNI inline __m512i block_u_512<6>(const uint8_t* p) {
  const __m512i rot = _mm512_rolv_epi64(pair_plane_raw_512(p + 32), _mm512_setr_epi64(4, 4, 2, 2, 0, 0, 62, 62));
  return _mm512_ternarylogic_epi32(nibble_plane_512(p), rot, _mm512_set1_epi8(0x30), 0xF8);
}

template <>
HW_VNNI inline __m512i block_u_512<3>(const uint8_t* p) {
  const __m512i low = _mm512_and_si512(
      _mm512_srlv_epi64(pair_plane_raw_512(p), _mm512_setr_epi64(0, 0, 2, 2, 4, 4, 6, 6)), _mm512_set1_epi8(3));
  uint64_t hi;
  std::memcpy(&hi, p + 16, sizeof hi);
  return _mm512_mask_add_epi8(low, _cvtu64_mask64(hi), low, _mm512_set1_epi8(4));
}

// Per-channel int8: |x| (unsigned) times w with the sign of x (a masked negation; |w| <= 127).
// One row at a time, so the weights are read as one sequential stream (four rows side by side
// read slower from DRAM here), with two accumulators so that consecutive vpdpbusd do not wait
// on each other.
HW_VNNI void gemv_i8_rows_vnni(const QuantizedMatrix& w, const int8_t* x, int64_t r0, int64_t r1,
                              int64_t* acc) {
  const int64_t n = w.cols_;
  const int8_t* base = reinterpret_cast<const int8_t*>(w.packed_.data());
  const size_t size = w.packed_.size();
  const __m512i zero = _mm512_setzero_si512();
  const int64_t full = n / 64 * 64;
  const __mmask64 all = ~__mmask64{0};
  const __mmask64 tail = n == full ? 0 : (~uint64_t{0} >> (64 - (n - full)));
  for (int64_t r = r0; r < r1; ++r) {
    const int8_t* row = base + r * n;
    __m512i a0 = zero, a1 = zero;
    int64_t i = 0;
    for (; i + 128 <= full; i += 128) {
      prefetch_within(base, size, static_cast<size_t>(r * n + i + kPrefetchBytes));
      prefetch_within(base, size, static_cast<size_t>(r * n + i + kPrefetchBytes + 64));
      const __m512i x0 = _mm512_loadu_si512(x + i);
      const __m512i x1 = _mm512_loadu_si512(x + i + 64);
      a0 = signed_dot_step(row + i, _mm512_abs_epi8(x0), _mm512_movepi8_mask(x0), all, a0);
      a1 = signed_dot_step(row + i + 64, _mm512_abs_epi8(x1), _mm512_movepi8_mask(x1), all, a1);
    }
    for (; i < n; i += 64) {
      const __mmask64 m = i < full ? all : tail;
      const __m512i xv = _mm512_maskz_loadu_epi8(m, x + i);
      a0 = signed_dot_step(row + i, _mm512_abs_epi8(xv), _mm512_movepi8_mask(xv), m, a0);
    }
    acc[r] = static_cast<int64_t>(_mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1))) * w.scale_m_[r];
  }
}

// Packed containers: a block's 64 u values in one register, one vpdpbusd against the 64
// activations. Lanes 0..7 hold 4-product sums of columns 0..31, lanes 8..15 of 32..63, each at
// most 4 * (2O - 1) * 127 (32,004 for S = 6): an int16, so with group-32 scales vpdpwssd adds
// lane * mantissa (the mantissa as the low int16 of the lane pair, 0 as the high) in one step.
// An int32 lane then gains at most 32,004 * 32,767 < 2^30 per block: 2 blocks before the lanes
// are widened into int64 for S = 6, 8 for S = 4 (7,620 per lane), 16 for S = 3 (3,556).
template <int S>
constexpr int64_t vnni_flush_blocks() {
  return S == 6 ? 2 : (S == 4 ? 8 : 16);
}

HW_VNNI inline __m512i widen_add_512(__m512i acc64, __m512i v32) {
  return _mm512_add_epi64(_mm512_add_epi64(acc64, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v32))),
                          _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v32, 1)));
}

// a + (block b's lane sums) * (its two mantissas). The mantissas are one 32-bit load,
// broadcast and spread by a byte shuffle: m[2b] into the low int16 of lanes 0..7, m[2b + 1]
// of lanes 8..15, zero in the high int16.
template <int S>
HW_VNNI inline __m512i g32_block_512(__m512i a, const uint8_t* wp, const int8_t* x, const uint16_t* m,
                                     int64_t b, __m512i spread) {
  const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), block_u_512<S>(wp + b * 8 * S),
                                        _mm512_loadu_si512(x + b * kBlock));
  uint32_t pair;
  std::memcpy(&pair, m + 2 * b, sizeof pair);
  return _mm512_dpwssd_epi32(a, d, _mm512_shuffle_epi8(_mm512_set1_epi32(static_cast<int32_t>(pair)), spread));
}

// One row at a time (one sequential stream of weights), even and odd blocks in two
// accumulators (two independent vpdpwssd chains), each widened after kFlush of its blocks.
template <int S>
HW_VNNI void gemv_packed_vnni(const QuantizedMatrix& w, const int8_t* x, const XSums& xs,
                             int64_t r0, int64_t r1, int64_t* acc) {
  constexpr int64_t kOffset = int64_t{1} << (S - 1);
  constexpr int64_t kBlockBytes = 8 * S;
  constexpr int64_t kFlush = vnni_flush_blocks<S>();
  const int64_t blocks = w.cols_ / kBlock;
  const int64_t row_bytes = blocks * kBlockBytes;
  const uint8_t* base = w.packed_.data();
  const size_t size = w.packed_.size();
  const __m512i zero = _mm512_setzero_si512();
  if (w.groups_per_row_ > 1 && w.group_size_ == kChunk) {
    const int64_t chunks = w.cols_ / kChunk;
    const __m512i spread = _mm512_setr_epi32(0x80800100, 0x80800100, 0x80800100, 0x80800100,
                                             0x80800100, 0x80800100, 0x80800100, 0x80800100,
                                             0x80800302, 0x80800302, 0x80800302, 0x80800302,
                                             0x80800302, 0x80800302, 0x80800302, 0x80800302);
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* wp = base + r * row_bytes;
      const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
      __m512i a64 = zero, even = zero, odd = zero;
      int64_t b = 0;
      int64_t pairs = 0;
      for (; b + 2 <= blocks; b += 2) {
        const size_t at = static_cast<size_t>(r * row_bytes + b * kBlockBytes + kPrefetchBytes);
        prefetch_within(base, size, at);
        if (2 * kBlockBytes > 64) prefetch_within(base, size, at + 64);
        even = g32_block_512<S>(even, wp, x, m, b, spread);
        odd = g32_block_512<S>(odd, wp, x, m, b + 1, spread);
        if (++pairs == kFlush) {
          a64 = widen_add_512(widen_add_512(a64, even), odd);
          even = odd = zero;
          pairs = 0;
        }
      }
      // At most kFlush - 1 blocks were in `even` since its last widening.
      if (b < blocks) even = g32_block_512<S>(even, wp, x, m, b, spread);
      a64 = widen_add_512(widen_add_512(a64, even), odd);
      acc[r] = _mm512_reduce_add_epi64(a64) - kOffset * scale_dot_avx2(m, xs.chunk_.data(), chunks);
    }
    return;
  }
  // Groups of whole blocks: a group's lanes stay within int32 (a lane gains at most
  // 4 * 63 * 127 per block and a group has at most 2^17 / 64 blocks).
  const int64_t blocks_per_group = w.groups_per_row_ == 1 ? blocks : w.group_size_ / kBlock;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wp = base + r * row_bytes;
    const uint16_t* m = w.scale_m_.data() + r * w.groups_per_row_;
    int64_t sum = 0;
    for (int64_t g = 0; g < w.groups_per_row_; ++g) {
      __m512i acc32 = zero;
      for (int64_t b = g * blocks_per_group; b < (g + 1) * blocks_per_group; ++b) {
        prefetch_within(base, size, static_cast<size_t>(r * row_bytes + b * kBlockBytes + kPrefetchBytes));
        acc32 = _mm512_dpbusd_epi32(acc32, block_u_512<S>(wp + b * kBlockBytes),
                                    _mm512_loadu_si512(x + b * kBlock));
      }
      sum += (hsum64_512(acc32) - kOffset * xs.group_[static_cast<size_t>(g)]) * m[g];
    }
    acc[r] = sum;
  }
}

void gemv_vnni_range(const QuantizedMatrix& w, const int8_t* x, const XSums& xs, int64_t r0,
                     int64_t r1, int64_t* acc) {
  switch (w.storage_bits_) {
    case 3:
      gemv_packed_vnni<3>(w, x, xs, r0, r1, acc);
      return;
    case 4:
      gemv_packed_vnni<4>(w, x, xs, r0, r1, acc);
      return;
    case 6:
      gemv_packed_vnni<6>(w, x, xs, r0, r1, acc);
      return;
    default:
      if (w.groups_per_row_ == 1) {
        gemv_i8_rows_vnni(w, x, r0, r1, acc);
      } else {
        gemv_i8_groups_avx2(w, x, r0, r1, acc);
      }
  }
}

// HARDWIRE_KERNEL=portable makes every kAuto choice (GEMV and quantizer) the portable
// reference, and HARDWIRE_KERNEL=avx2 stops kAuto at AVX2, so a whole run can be compared
// against either.
std::string kernel_env() {
  const char* env = std::getenv("HARDWIRE_KERNEL");
  return env ? std::string(env) : std::string();
}

bool cpu_has_avx2() {
  static const bool kHas = __builtin_cpu_supports("avx2") && kernel_env() != "portable";
  return kHas;
}

bool cpu_has_vnni() {
  static const bool kHas = cpu_has_avx2() && kernel_env() != "avx2" &&
                           __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return kHas;
}
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_vnni() { return false; }
#endif

}  // namespace

void set_compute_threads(int n) { ComputePool::get().set_threads(n); }
int compute_threads() { return ComputePool::get().threads(); }

void parallel_for(int64_t n, int64_t grain, int64_t align,
                  const std::function<void(int64_t, int64_t)>& fn) {
  ComputePool::get().run(n, grain, std::max<int64_t>(align, 1), fn);
}

void gemv(const QuantizedMatrix& w, const int8_t* x, int64_t* acc, GemvKernel kernel) {
  if (!gemv_kernel_available(kernel)) {
    throw make_error("gemv", std::string("the ") + gemv_kernel_name(kernel) +
                                 " kernel was requested on a CPU without it");
  }
  const bool use_vnni = (kernel == GemvKernel::kAuto && cpu_has_vnni()) || kernel == GemvKernel::kAvx512Vnni;
  const bool use_avx2 = !use_vnni && ((kernel == GemvKernel::kAuto && cpu_has_avx2()) || kernel == GemvKernel::kAvx2);
  const int64_t grain = std::max<int64_t>(4, kMinBytesPerThread / std::max<int64_t>(w.row_bytes(), 1));
#if HW_HAVE_X86
  if (use_vnni) {
    const XSums xs = w.storage_bits_ == 8 ? XSums{} : x_sums(w, x);
    parallel_for(w.rows_, grain, 4, [&](int64_t r0, int64_t r1) { gemv_vnni_range(w, x, xs, r0, r1, acc); });
    return;
  }
  if (use_avx2) {
    const XSums xs = w.storage_bits_ == 8 ? XSums{} : x_sums(w, x);
    parallel_for(w.rows_, grain, 4, [&](int64_t r0, int64_t r1) { gemv_avx2_range(w, x, xs, r0, r1, acc); });
    return;
  }
#endif
  parallel_for(w.rows_, grain, 4, [&](int64_t r0, int64_t r1) { gemv_portable(w, x, r0, r1, acc); });
}

bool gemv_kernel_available(GemvKernel kernel) {
  switch (kernel) {
    case GemvKernel::kAvx2:
      return cpu_has_avx2();
    case GemvKernel::kAvx512Vnni:
      return cpu_has_vnni();
    default:
      return true;
  }
}

const char* gemv_kernel_name(GemvKernel kernel) {
  switch (kernel) {
    case GemvKernel::kPortable:
      return "portable";
    case GemvKernel::kAvx2:
      return "avx2";
    case GemvKernel::kAvx512Vnni:
      return "avx512vnni";
    default:
      return gemv_auto_kernel_name();
  }
}

const char* gemv_auto_kernel_name() {
  return cpu_has_vnni() ? "avx512vnni" : (cpu_has_avx2() ? "avx2" : "portable");
}

}  // namespace hw
