/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until ag_http is written. */
typedef int ag_http_placeholder;
