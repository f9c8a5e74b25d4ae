#pragma once
/// @file collectives.hpp
/// A module's parameters and gradients across the processes of the living Communicator, for a
/// hand-written data-parallel loop:
///
///     distributed::Communicator comm(argc, argv);
///     broadcast_parameters(model, 0);            // every process starts from rank 0's weights
///     for (...) {                                // each process on its own share of the batch
///       Var loss = ...; optimizer.zero_grad(); loss.backward();
///       allreduce_gradients(model);              // the mean gradient on every process
///       optimizer.step();
///     }
///
/// The Trainer does this (overlapped with backward) through distributed::DataParallel.

#include "retrograd/distributed/communicator.hpp"
#include "retrograd/nn/module.hpp"

namespace retrograd::distributed {

/// Copies process `root`'s parameters and buffers into every process's `module`. Every
/// process calls it; their modules must have the same parameters (names and shapes), else
/// std::invalid_argument on every process. Throws std::logic_error without a Communicator.
void broadcast_parameters(nn::Module& module, int root = 0);

/// Replaces each parameter's gradient by its mean over the processes (blocking; the gradients
/// travel fused in one message). A parameter without a gradient counts as zeros and receives
/// the mean. Every process calls it with the same module layout, else std::invalid_argument
/// on every process. Throws std::logic_error without a Communicator.
void allreduce_gradients(nn::Module& module);

/// broadcast_parameters on the given communicator.
void broadcast_parameters(const Communicator& comm, nn::Module& module, int root = 0);
/// allreduce_gradients on the given communicator.
void allreduce_gradients(const Communicator& comm, nn::Module& module);

}  // namespace retrograd::distributed
