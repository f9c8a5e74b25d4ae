#pragma once
/// @file retrograd.hpp
/// Umbrella header: the whole public API.

#include "retrograd/blas.hpp"
#include "retrograd/broadcast.hpp"
#include "retrograd/data.hpp"
#include "retrograd/dot.hpp"
#include "retrograd/engine.hpp"
#include "retrograd/gradcheck.hpp"
#include "retrograd/node.hpp"
#include "retrograd/ops.hpp"
#include "retrograd/tensor.hpp"
#include "retrograd/trace.hpp"
#include "retrograd/var.hpp"
