/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until ag_otlp is written. */
typedef int ag_otlp_placeholder;
