// The few MPI operations run_sweep needs (sweep/run.cpp), behind plain functions so only
// sweep/mpi_comm.cpp includes <mpi.h>. Every call is made from the main thread of a rank
// (MPI_THREAD_FUNNELED); worker threads never talk MPI. Without MPI in the build, active() is
// false and run_sweep never calls the others.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hw::sweep::mpi {

bool active();
int rank();
int size();
// Rank 0's value to every rank.
void bcast(std::string& s);
void bcast(std::vector<uint64_t>& v);
// To rank 0: a block of CSV rows with its row and error counts; then one done message.
void send_rows(const std::string& block, uint64_t rows, uint64_t errors);
void send_done();
// Rank 0: receives one waiting message, if any. Returns false when none is waiting.
bool poll(std::string& block, uint64_t& rows, uint64_t& errors, bool& done);

}  // namespace hw::sweep::mpi
