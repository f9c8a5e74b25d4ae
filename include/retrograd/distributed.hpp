#pragma once
/// @file distributed.hpp
/// The optional distributed component in one include (CMake option RETROGRAD_MPI; target
/// retrograd::distributed, which retrograd::retrograd includes when built): data-parallel
/// training over MPI (namespace retrograd::distributed, docs/distributed.md).

#include "retrograd/distributed/collectives.hpp"
#include "retrograd/distributed/communicator.hpp"
#include "retrograd/distributed/data_parallel.hpp"
