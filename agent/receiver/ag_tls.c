/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until ag_tls is written. */
typedef int ag_tls_placeholder;
