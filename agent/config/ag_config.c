/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until ag_config is written. */
typedef int ag_config_placeholder;
