// MPI for sweeps (mpi_comm.h, sweep.h MpiSession). Compiled with HARDWIRE_HAVE_MPI when CMake
// found MPI; otherwise a session is always a single process.
#include "sweep/mpi_comm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "common/error.h"
#include "sweep/sweep.h"

#ifdef HARDWIRE_HAVE_MPI
#include <mpi.h>
#endif

namespace hw::sweep {
namespace {

bool g_active = false;
int g_rank = 0;
int g_size = 1;

#ifdef HARDWIRE_HAVE_MPI
constexpr int kTagRows = 1;
constexpr int kTagDone = 2;
#endif

#ifdef HARDWIRE_HAVE_MPI
// Launched by mpirun / srun / hydra: the launcher leaves its rank in the environment.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(v)) return true;
  }
  return false;
}
#endif

}  // namespace

bool MpiSession::built_with_mpi() {
#ifdef HARDWIRE_HAVE_MPI
  return true;
#else
  return false;
#endif
}

MpiSession::MpiSession() {
#ifndef HARDWIRE_HAVE_MPI
  // Several copies started by mpirun would each run the whole sweep into the same file.
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* n = std::getenv(v);
    if (n && std::atoi(n) > 1) {
      throw Error("sweep: started by mpirun with " + std::string(n) +
                  " ranks, but this hardwire was built without MPI (apt-get install "
                  "libopenmpi-dev openmpi-bin, then re-run cmake and rebuild)");
    }
  }
#else
  if (g_active || !launched_by_mpi()) return;
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    throw Error("sweep: MPI_Init_thread failed");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_active = true;
  active_ = true;
  rank_ = g_rank;
  size_ = g_size;
#endif
}

MpiSession::~MpiSession() {
#ifdef HARDWIRE_HAVE_MPI
  if (!active_) return;
  if (std::uncaught_exceptions() > 0 && g_size > 1) MPI_Abort(MPI_COMM_WORLD, 2);
  MPI_Finalize();
  g_active = false;
  g_rank = 0;
  g_size = 1;
#endif
}

namespace mpi {

bool active() { return g_active && g_size > 1; }
int rank() { return g_rank; }
int size() { return g_size; }

#ifdef HARDWIRE_HAVE_MPI
void bcast(std::string& s) {
  uint64_t n = s.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  s.resize(n);
  if (n) MPI_Bcast(s.data(), int(n), MPI_CHAR, 0, MPI_COMM_WORLD);
}

void bcast(std::vector<uint64_t>& v) {
  uint64_t n = v.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  v.resize(n);
  // In slices: an MPI count is an int.
  for (uint64_t off = 0; off < n; off += uint64_t{1} << 28) {
    const int count = int(std::min<uint64_t>(n - off, uint64_t{1} << 28));
    MPI_Bcast(v.data() + off, count, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  }
}

void send_rows(const std::string& block, uint64_t rows, uint64_t errors) {
  std::string msg(16, '\0');
  std::memcpy(msg.data(), &rows, 8);
  std::memcpy(msg.data() + 8, &errors, 8);
  msg += block;
  MPI_Send(msg.data(), int(msg.size()), MPI_CHAR, 0, kTagRows, MPI_COMM_WORLD);
}

void send_done() { MPI_Send(nullptr, 0, MPI_CHAR, 0, kTagDone, MPI_COMM_WORLD); }

bool poll(std::string& block, uint64_t& rows, uint64_t& errors, bool& done) {
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_CHAR, &count);
  std::string msg(size_t(count), '\0');
  MPI_Recv(msg.data(), count, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  done = st.MPI_TAG == kTagDone;
  rows = errors = 0;
  block.clear();
  if (!done && msg.size() >= 16) {
    std::memcpy(&rows, msg.data(), 8);
    std::memcpy(&errors, msg.data() + 8, 8);
    block = msg.substr(16);
  }
  return true;
}
#else
void bcast(std::string&) { throw Error("sweep: MPI call in a build without MPI"); }
void bcast(std::vector<uint64_t>&) { throw Error("sweep: MPI call in a build without MPI"); }
void send_rows(const std::string&, uint64_t, uint64_t) {
  throw Error("sweep: MPI call in a build without MPI");
}
void send_done() { throw Error("sweep: MPI call in a build without MPI"); }
bool poll(std::string&, uint64_t&, uint64_t&, bool&) {
  throw Error("sweep: MPI call in a build without MPI");
}
#endif

}  // namespace mpi
}  // namespace hw::sweep
