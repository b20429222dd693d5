/*
 * crash/replay.c -- the soak and the replay of one failure by its id.
 */
#include "crash.h"

/* ------------------------------------------------------- soak, replay */

int soak(uint64_t n)
{
	ensure_scripted();
	struct tally T = { .t0 = tu_now_ns() };
	uint64_t rng = tu_mix(seed, 0x50a4);
	uint64_t round = 0, done = 0, doubles = 0;
	uint64_t per_round = 20000;
	while (done < n) {
		struct workload ws[NWORK];
		for (int i = 0; i < NWORK; i++) {
			char tag[16];
			snprintf(tag, sizeof tag, "s%llu.%d",
				 (unsigned long long)round, i);
			build_workload(tu_mix(seed, 0x5000000 + round * 16 + (uint64_t)i),
				       tag, &ws[i]);
		}
		uint64_t m = 128;
		for (int i = 0; i < NWORK; i++)
			if (ws[i].lsize > m)
				m = ws[i].lsize;
		uint8_t *img = malloc(m * BS);
		for (uint64_t i = 0; i < per_round && done < n; i++, done++)
			random_cut(&rng, ws, NWORK, &T, img,
				   tu_below(&rng, 8) == 0, &doubles);
		free(img);
		for (int i = 0; i < NWORK; i++)
			workload_free(&ws[i]);
		round++;
		printf("# soak: %llu cuts (%llu cut points incl. %llu double "
		       "faults), %llu failures (%llu of them B4), %.0f s\n",
		       (unsigned long long)done, (unsigned long long)T.points,
		       (unsigned long long)doubles,
		       (unsigned long long)T.failures,
		       (unsigned long long)b4_seen,
		       (double)(tu_now_ns() - T.t0) / 1e9);
		fflush(stdout);
	}
	tally_print("soak", &T);
	printf("# soak: %llu cuts, %llu failures%s\n", (unsigned long long)done,
	       (unsigned long long)T.failures,
	       nfail_ids ? "; replay ids (WODAN_CRASH_REPLAY=...):" : "");
	for (unsigned i = 0; i < nfail_ids; i++)
		printf("#   %s\n", fail_ids[i]);
	return T.failures ? 1 : 0;
}

/* Find a scenario by name: a scripted kind, "wI" (workload I of this
 * seed), "sR.I" (soak round R, workload I), with "bBnN" batches. */
static int find_scen(const char *name, struct scen *sc, const struct trace **R,
		     struct workload *tmpw)
{
	for (int k = 0; k < K_NKINDS; k++)
		for (int v = 0; v < NVAR; v++) {
			char nm[48];
			snprintf(nm, sizeof nm, "%s.%d", kind_name[k], v);
			if (strcmp(name, nm))
				continue;
			struct built *B = &scripted[k * NVAR + v];
			build_scripted((enum kind)k, v, seed, B);
			*sc = B->sc;
			*R = &B->ref;
			return 0;
		}
	unsigned long long round = 0;
	int wi = -1;
	size_t b = 0, n = 0;
	char tag[16];
	if (sscanf(name, "w%d b%zun%zu", &wi, &b, &n) == 3 ||
	    sscanf(name, "w%db%zun%zu", &wi, &b, &n) == 3) {
		snprintf(tag, sizeof tag, "w%d", wi);
		build_workload(tu_mix(seed, 1000 + (uint64_t)wi), tag, tmpw);
	} else if (sscanf(name, "s%llu.%db%zun%zu", &round, &wi, &b, &n) == 4) {
		snprintf(tag, sizeof tag, "s%llu.%d", round, wi);
		build_workload(tu_mix(seed, 0x5000000 + round * 16 + (uint64_t)wi),
			       tag, tmpw);
	} else {
		return -1;
	}
	if (b + n > tmpw->nb || n < 1 || n > 3)
		return -1;
	scen_of(tmpw, b, n, sc);
	*R = workload_ref(tmpw, b, n, sc);
	return 0;
}

int replay(const char *id)
{
	verbose = 1;
	char kind[16], name[48];
	unsigned long long s, e, rs, r2 = 0, e2 = 0, rs2 = 0, op = 0;
	char mc = 'R';
	struct tally T = { .t0 = tu_now_ns() };
	struct workload W = { 0 };
	struct scen sc;
	const struct trace *R;
	int f = 0;
	if (sscanf(id, "%15[a-z]:%llu:%47[^:]:", kind, &s, name) != 3) {
		printf("# bad replay id %s\n", id);
		return 2;
	}
	seed = s;
	if (find_scen(name, &sc, &R, &W)) {
		printf("# unknown scenario %s\n", name);
		return 2;
	}
	uint8_t *img = malloc(sc.lsize * BS);
	if (!strcmp(kind, "crash") &&
	    sscanf(id, "crash:%llu:%*[^:]:%llu:%c:%llu", &s, &e, &mc, &rs) == 4) {
		f = one_cut(&sc, R, e, mode_of(mc), rs, 1, &T, img, NULL, NULL,
			    NULL);
	} else if (!strcmp(kind, "dcrash") &&
		   sscanf(id, "dcrash:%llu:%*[^:]:%llu:%llu:%llu:%llu:%llu", &s,
			  &e, &rs, &r2, &e2, &rs2) == 6) {
		struct ent *snap1 = NULL;
		uint64_t gen1;
		f = one_cut(&sc, R, e, FAULT_CUT_RANDOM, rs, 0, &T, img, &snap1,
			    &gen1, NULL);
		if (!f) {
			/* the second step exactly as the double tier built it */
			struct scen s2;
			uint8_t *base2;
			second_step(&sc, img, snap1, gen1, r2, &s2, &base2);
			struct trace R2;
			reference(&s2, &R2);
			f = one_cut(&s2, &R2, e2, FAULT_CUT_RANDOM, rs2, 1, &T,
				    img, NULL, NULL, "[2nd] ");
			trace_free(&R2);
			free(s2.ops.v);
			free(base2);
		}
		free(snap1);
	} else if (!strcmp(kind, "ioerr") &&
		   sscanf(id, "ioerr:%llu:%*[^:]:rates:%llu", &s, &rs) == 2) {
		struct fault_params p;
		fault_params_init(&p, rs);
		p.write_eio_ppm = 20000;
		p.barrier_eio_ppm = 20000;
		f = ioerr_run(&sc, &p, &T, id, img);
	} else if (!strcmp(kind, "ioerr") &&
		   sscanf(id, "ioerr:%llu:%*[^:]:%llu", &s, &op) == 2) {
		struct fault_params p;
		fault_params_init(&p, tu_mix(seed, op));
		p.fail_op = op;
		f = ioerr_run(&sc, &p, &T, id, img);
	} else {
		printf("# bad replay id %s\n", id);
		f = 2;
	}
	printf("# replay %s: %s\n", id, f ? "FAILED" : "ok");
	free(img);
	if (W.img)
		workload_free(&W);
	return f;
}
