#pragma once
/// @file layers.hpp
/// Every built-in layer. Each registers itself (RETROGRAD_REGISTER_LAYER) in its own header;
/// a program that loads model files includes this one (io's loader does) so that all of them
/// are registered whichever ones its own code names.

#include "retrograd/nn/activation.hpp"
#include "retrograd/nn/conv2d.hpp"
#include "retrograd/nn/dense.hpp"
#include "retrograd/nn/feature_scaling.hpp"
#include "retrograd/nn/flatten.hpp"
#include "retrograd/nn/model.hpp"
#include "retrograd/nn/pooling.hpp"
#include "retrograd/nn/regularization.hpp"
#include "retrograd/nn/sequential.hpp"
