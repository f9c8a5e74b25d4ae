#pragma once
/// @file data.hpp
/// The data layer in one include: IDX / MNIST, CSV, Dataset and batching, labels, scaling,
/// splits and synthetic sets (namespace retrograd::data).

#include "retrograd/data/csv.hpp"
#include "retrograd/data/dataset.hpp"
#include "retrograd/data/idx.hpp"
#include "retrograd/data/labels.hpp"
#include "retrograd/data/mnist.hpp"
#include "retrograd/data/scaling.hpp"
#include "retrograd/data/split.hpp"
#include "retrograd/data/synthetic.hpp"
