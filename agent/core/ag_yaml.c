/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until ag_yaml is written. */
typedef int ag_yaml_placeholder;
