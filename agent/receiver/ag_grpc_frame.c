/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until ag_grpc_frame is written. */
typedef int ag_grpc_frame_placeholder;
