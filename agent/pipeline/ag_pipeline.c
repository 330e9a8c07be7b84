/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until the pipeline is written. */
typedef int ag_pipeline_placeholder;
