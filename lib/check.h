/*
 * check.h -- the problem list of wodan_check (internal).
 *
 * check.c owns struct wodan_check_report while wodan_check fills it; the
 * validation walk of mount.c reports through wd_report_problem, which
 * check.c hands it in struct wd_walk_report (mount.h).
 */
#ifndef WD_CHECK_H
#define WD_CHECK_H

#include <stdint.h>
#include "wodan.h"

/* Append a problem at block L with code and the calling thread's last
 * error message when it has the same code (else the code's name).  At
 * most 1000 problems are kept; later ones, and one whose array cannot
 * grow (out of memory), are dropped.  Not thread-safe for one report. */
void wd_report_problem(struct wodan_check_report *rep, uint64_t L, int code);

#endif
