/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until ag_otlp_json is written. */
typedef int ag_otlp_json_placeholder;
