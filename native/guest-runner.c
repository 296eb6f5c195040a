// SPDX-License-Identifier: GPL-2.0
/*
 * guest-runner - run a scripted scenario on the real /dev/kvm.
 *
 * Written in the style of the kernel's KVM selftests: one VM, one vCPU, a
 * minimal 64-bit long-mode guest whose 4-level identity map lives in guest
 * memory, and one guest instruction (plus `hlt`) per step.  Every step prints
 * one JSON object on stdout.  See README.md beside this file.
 *
 * Build: gcc -O2 -Wall -Wextra -o guest-runner guest-runner.c
 * Usage: guest-runner [--marker /path/to/trace_marker] SCENARIO|-
 *
 * Exit status: 0 all steps ok; 1 a step failed (ioctl error, unexpected KVM
 * exit, marker write error); 2 malformed scenario or bad usage; 3 /dev/kvm
 * cannot be opened or is unusable.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#define PAGE_SIZE	((uint64_t)0x1000)
#define GUEST_MAP_END	((uint64_t)1 << 30)	/* `pagetables` maps GPA/VA 0..1 GiB */
#define MAX_SLOTS	64		/* live slots per VM tracked by the runner */
#define MAX_SLOT_ID	32767
#define MAX_CODE	16
#define MAX_EXITS	64		/* KVM_RUN round trips per guest step */
#define MAX_MMIO	8		/* MMIO exits reported per guest step */

#define PTE_P		0x1ULL
#define PTE_W		0x2ULL
#define PTE_PS		0x80ULL

#define X86_CR0_PE	0x1ULL
#define X86_CR0_ET	0x10ULL
#define X86_CR0_PG	0x80000000ULL
#define X86_CR4_PAE	0x20ULL
#define EFER_LME	0x100ULL
#define EFER_LMA	0x400ULL

/* ------------------------------------------------------------------ */
/* Scenario                                                            */
/* ------------------------------------------------------------------ */

enum op {
	OP_MEMSLOT, OP_MEMSLOT_FLAGS, OP_MEMSLOT_MOVE, OP_MEMSLOT_DELETE,
	OP_PAGETABLES, OP_CODE, OP_CR3, OP_STORE, OP_LOAD, OP_RMW,
	OP_MARK, OP_STATS, OP_DESTROY,
};

static const char *const op_names[] = {
	[OP_MEMSLOT] = "memslot", [OP_MEMSLOT_FLAGS] = "memslot-flags",
	[OP_MEMSLOT_MOVE] = "memslot-move", [OP_MEMSLOT_DELETE] = "memslot-delete",
	[OP_PAGETABLES] = "pagetables", [OP_CODE] = "code", [OP_CR3] = "cr3",
	[OP_STORE] = "store", [OP_LOAD] = "load", [OP_RMW] = "rmw",
	[OP_MARK] = "mark", [OP_STATS] = "stats", [OP_DESTROY] = "destroy",
};

struct step {
	enum op op;
	int line;
	uint64_t a, b, c;	/* slot/gpa/root, gpa/width, size/value */
	uint32_t flags;		/* KVM_MEM_* for memslot ops */
	char *text;		/* mark */
};

static struct step *steps;
static int nsteps, capsteps;
static const char *scn_name = "scenario";

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

struct sbuf { char *p; size_t len, cap; };

static void sb_reset(struct sbuf *b) { b->len = 0; if (b->p) b->p[0] = 0; }

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			b->len += n;
			return;
		}
		char *np = realloc(b->p, (b->cap + n + 1) * 2);

		if (!np) {
			perror("realloc");
			exit(1);
		}
		b->p = np;
		b->cap = (b->cap + n + 1) * 2;
	}
}

/* Append a JSON string literal. */
static void sb_str(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c == '\n')
			sb_printf(b, "\\n");
		else if (c == '\t')
			sb_printf(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(b, "\\u%04x", c);
		else
			sb_printf(b, "%c", c);
	}
	sb_printf(b, "\"");
}

static struct sbuf extra;	/* fields a step adds after "ok" */
static char errmsg[512];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_errno(const char *what)
{
	int e = errno;

	return fail("%s: %s (errno %d)", what, strerror(e), e);
}

/* Print a one-off JSON line that is not a step (parse / open errors). */
static void print_line(const char *op, int line, const char *msg)
{
	struct sbuf b = { 0 };

	sb_printf(&b, "{");
	if (line > 0)
		sb_printf(&b, "\"line\":%d,", line);
	sb_printf(&b, "\"op\":");
	sb_str(&b, op);
	sb_printf(&b, ",\"ok\":false,\"error\":");
	sb_str(&b, msg);
	sb_printf(&b, "}");
	printf("%s\n", b.p);
	fflush(stdout);
	free(b.p);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static int cur_line;

static void malformed(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void malformed(const char *fmt, ...)
{
	char msg[400], full[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "malformed scenario: %s:%d: %s", scn_name, cur_line, msg);
	fprintf(stderr, "guest-runner: %s\n", full);
	print_line("parse", cur_line, full);
	exit(2);
}

/* Decimal or 0x-prefixed hex, the whole token, no sign. */
static uint64_t parse_num(const char *tok, const char *what)
{
	const char *p = tok;
	int base = 10;
	uint64_t v;
	char *end;

	if (!tok)
		malformed("missing %s", what);
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if ((base == 16 && !isxdigit((unsigned char)*p)) ||
	    (base == 10 && !(*p >= '0' && *p <= '9')))
		malformed("bad number '%s' for %s", tok, what);
	errno = 0;
	v = strtoull(p, &end, base);
	if (errno || *end)
		malformed("bad number '%s' for %s", tok, what);
	return v;
}

/* What the scenario has set up so far, to check it before touching KVM. */
struct sim_slot { bool used; uint32_t id; uint64_t gpa, size; };
static struct sim_slot sim[MAX_SLOTS];
static bool sim_cr3;
static uint64_t sim_code;

static struct sim_slot *sim_find(uint32_t id)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (sim[i].used && sim[i].id == id)
			return &sim[i];
	return NULL;
}

static bool sim_covers(uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (sim[i].used && gpa >= sim[i].gpa && gpa - sim[i].gpa + len <= sim[i].size)
			return true;
	return false;
}

static void sim_need_code(void)
{
	if (!sim_covers(sim_code, MAX_CODE))
		malformed("code GPA 0x%" PRIx64 "..0x%" PRIx64 " is not inside one memslot",
			  sim_code, sim_code + MAX_CODE - 1);
}

static uint32_t parse_slot_flags(char **tok, int n)
{
	uint32_t f = 0;

	for (int i = 0; i < n; i++) {
		uint32_t bit;

		if (!strcmp(tok[i], "ro"))
			bit = KVM_MEM_READONLY;
		else if (!strcmp(tok[i], "log"))
			bit = KVM_MEM_LOG_DIRTY_PAGES;
		else
			malformed("unknown memslot flag '%s' (ro, log)", tok[i]);
		if (f & bit)
			malformed("memslot flag '%s' given twice", tok[i]);
		f |= bit;
	}
	return f;
}

static uint32_t parse_slot_id(const char *t)
{
	uint64_t id = parse_num(t, "SLOT");

	if (id > MAX_SLOT_ID)
		malformed("SLOT %" PRIu64 " out of range 0..%d", id, MAX_SLOT_ID);
	return (uint32_t)id;
}

static void need_args(int ntok, int min, int max, const char *usage)
{
	if (ntok - 1 < min || ntok - 1 > max)
		malformed("usage: %s", usage);
}

static uint64_t parse_width(const char *t)
{
	uint64_t w = parse_num(t, "WIDTH");

	if (w != 1 && w != 2 && w != 4 && w != 8)
		malformed("WIDTH must be 1, 2, 4 or 8, not %" PRIu64, w);
	return w;
}

static uint64_t parse_access_gpa(const char *t, uint64_t width)
{
	uint64_t gpa = parse_num(t, "GPA");

	if (gpa >= GUEST_MAP_END || GUEST_MAP_END - gpa < width)
		malformed("GPA 0x%" PRIx64 " + %" PRIu64 " is outside the 1 GiB identity map",
			  gpa, width);
	return gpa;
}

static void parse_line(char *raw, int lineno)
{
	char *tok[16], *save, *p, *hash;
	struct step s = { .line = lineno };
	int ntok = 0;

	cur_line = lineno;
	hash = strchr(raw, '#');
	if (hash)
		*hash = 0;
	raw[strcspn(raw, "\r\n")] = 0;

	/* `mark` keeps the rest of the line verbatim (trimmed). */
	p = raw + strspn(raw, " \t");
	if (!strncmp(p, "mark", 4) && (p[4] == ' ' || p[4] == '\t' || !p[4])) {
		char *t = p + 4, *e;

		t += strspn(t, " \t");
		e = t + strlen(t);
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (!*t)
			malformed("usage: mark TEXT");
		s.op = OP_MARK;
		s.text = strdup(t);
		goto add;
	}

	for (char *t = strtok_r(raw, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ntok == 16)
			malformed("too many words");
		tok[ntok++] = t;
	}
	if (!ntok)
		return;

	if (!strcmp(tok[0], "memslot")) {
		struct sim_slot *ss = NULL;

		if (ntok < 4 || ntok > 6)
			malformed("usage: memslot SLOT GPA SIZE [ro] [log]");
		s.op = OP_MEMSLOT;
		s.a = parse_slot_id(tok[1]);
		s.b = parse_num(tok[2], "GPA");
		s.c = parse_num(tok[3], "SIZE");
		s.flags = parse_slot_flags(tok + 4, ntok - 4);
		if (s.b % PAGE_SIZE || s.c % PAGE_SIZE || !s.c)
			malformed("GPA and SIZE must be page aligned and SIZE > 0");
		if (s.b + s.c < s.b)
			malformed("GPA + SIZE overflows");
		if (sim_find((uint32_t)s.a))
			malformed("slot %" PRIu64 " already exists (memslot-flags/-move/-delete it)", s.a);
		for (int i = 0; i < MAX_SLOTS && !ss; i++)
			if (!sim[i].used)
				ss = &sim[i];
		if (!ss)
			malformed("more than %d live slots", MAX_SLOTS);
		*ss = (struct sim_slot){ true, (uint32_t)s.a, s.b, s.c };
	} else if (!strcmp(tok[0], "memslot-flags")) {
		if (ntok < 2 || ntok > 4)
			malformed("usage: memslot-flags SLOT [ro] [log]");
		s.op = OP_MEMSLOT_FLAGS;
		s.a = parse_slot_id(tok[1]);
		s.flags = parse_slot_flags(tok + 2, ntok - 2);
		if (!sim_find((uint32_t)s.a))
			malformed("slot %" PRIu64 " does not exist", s.a);
	} else if (!strcmp(tok[0], "memslot-move")) {
		struct sim_slot *ss;

		need_args(ntok, 2, 2, "memslot-move SLOT NEWGPA");
		s.op = OP_MEMSLOT_MOVE;
		s.a = parse_slot_id(tok[1]);
		s.b = parse_num(tok[2], "NEWGPA");
		if (s.b % PAGE_SIZE)
			malformed("NEWGPA must be page aligned");
		ss = sim_find((uint32_t)s.a);
		if (!ss)
			malformed("slot %" PRIu64 " does not exist", s.a);
		if (s.b + ss->size < s.b)
			malformed("NEWGPA + SIZE overflows");
		ss->gpa = s.b;
	} else if (!strcmp(tok[0], "memslot-delete")) {
		struct sim_slot *ss;

		need_args(ntok, 1, 1, "memslot-delete SLOT");
		s.op = OP_MEMSLOT_DELETE;
		s.a = parse_slot_id(tok[1]);
		ss = sim_find((uint32_t)s.a);
		if (!ss)
			malformed("slot %" PRIu64 " does not exist", s.a);
		ss->used = false;
	} else if (!strcmp(tok[0], "pagetables")) {
		need_args(ntok, 1, 1, "pagetables ROOT");
		s.op = OP_PAGETABLES;
		s.a = parse_num(tok[1], "ROOT");
		if (s.a % PAGE_SIZE)
			malformed("ROOT must be page aligned");
		for (int i = 0; i < 3; i++)
			if (!sim_covers(s.a + i * PAGE_SIZE, PAGE_SIZE))
				malformed("page 0x%" PRIx64 " of the page tables is not in a memslot",
					  s.a + i * PAGE_SIZE);
	} else if (!strcmp(tok[0], "code")) {
		need_args(ntok, 1, 1, "code GPA");
		s.op = OP_CODE;
		s.a = parse_num(tok[1], "GPA");
		if (s.a >= GUEST_MAP_END - MAX_CODE)
			malformed("code GPA must be below 1 GiB - %d (identity map)", MAX_CODE);
		sim_code = s.a;
	} else if (!strcmp(tok[0], "cr3")) {
		need_args(ntok, 1, 1, "cr3 ROOT");
		s.op = OP_CR3;
		s.a = parse_num(tok[1], "ROOT");
		if (s.a % PAGE_SIZE || s.a >= (1ULL << 52))
			malformed("ROOT must be a page-aligned GPA");
		sim_need_code();
		sim_cr3 = true;
	} else if (!strcmp(tok[0], "store")) {
		need_args(ntok, 2, 3, "store GPA WIDTH [VALUE]");
		s.op = OP_STORE;
		s.b = parse_width(tok[2]);
		s.a = parse_access_gpa(tok[1], s.b);
		s.c = ntok > 3 ? parse_num(tok[3], "VALUE") : 0;
		if (s.b < 8 && s.c >> (8 * s.b))
			malformed("VALUE 0x%" PRIx64 " does not fit in %" PRIu64 " bytes", s.c, s.b);
	} else if (!strcmp(tok[0], "load") || !strcmp(tok[0], "rmw")) {
		s.op = tok[0][0] == 'l' ? OP_LOAD : OP_RMW;
		need_args(ntok, 2, 2, s.op == OP_LOAD ? "load GPA WIDTH" : "rmw GPA WIDTH");
		s.b = parse_width(tok[2]);
		s.a = parse_access_gpa(tok[1], s.b);
	} else if (!strcmp(tok[0], "stats")) {
		need_args(ntok, 0, 0, "stats");
		s.op = OP_STATS;
	} else if (!strcmp(tok[0], "destroy")) {
		need_args(ntok, 0, 0, "destroy");
		s.op = OP_DESTROY;
		memset(sim, 0, sizeof(sim));
		sim_cr3 = false;
	} else {
		malformed("unknown step '%s'", tok[0]);
	}

	if (s.op == OP_STORE || s.op == OP_LOAD || s.op == OP_RMW) {
		if (!sim_cr3)
			malformed("%s before any cr3 step (the vCPU is not in long mode yet)", tok[0]);
		sim_need_code();
	}
add:
	if (nsteps == capsteps) {
		struct step *ns;

		capsteps = capsteps ? capsteps * 2 : 32;
		ns = realloc(steps, capsteps * sizeof(*steps));
		if (!ns) {
			perror("realloc");
			exit(1);
		}
		steps = ns;
	}
	steps[nsteps++] = s;
}

static void parse_file(const char *path)
{
	FILE *f = stdin;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;

	if (strcmp(path, "-")) {
		f = fopen(path, "r");
		if (!f) {
			char msg[400];

			snprintf(msg, sizeof(msg), "cannot open scenario %s: %s", path, strerror(errno));
			fprintf(stderr, "guest-runner: %s\n", msg);
			print_line("parse", 0, msg);
			exit(2);
		}
		scn_name = path;
	} else {
		scn_name = "<stdin>";
	}
	while (getline(&line, &cap, f) >= 0)
		parse_line(line, ++lineno);
	free(line);
	if (f != stdin)
		fclose(f);
}

/* ------------------------------------------------------------------ */
/* KVM state                                                           */
/* ------------------------------------------------------------------ */

struct slot {
	bool used;
	uint32_t id, flags;
	uint64_t gpa, size;
	void *host;
};

static int kvm_fd = -1, vm_fd = -1, vcpu_fd = -1;
static struct kvm_run *run;
static size_t run_size;
static bool sregs_done;
static struct slot slots[MAX_SLOTS];
static uint64_t code_gpa;
static int marker_fd = -1;

static const char *exit_name(uint32_t r)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "unknown", [KVM_EXIT_EXCEPTION] = "exception",
		[KVM_EXIT_IO] = "io", [KVM_EXIT_HYPERCALL] = "hypercall",
		[KVM_EXIT_DEBUG] = "debug", [KVM_EXIT_HLT] = "hlt",
		[KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
		[KVM_EXIT_SHUTDOWN] = "shutdown", [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
		[KVM_EXIT_INTR] = "intr", [KVM_EXIT_SET_TPR] = "set_tpr",
		[KVM_EXIT_TPR_ACCESS] = "tpr_access", [KVM_EXIT_NMI] = "nmi",
		[KVM_EXIT_INTERNAL_ERROR] = "internal_error", [KVM_EXIT_OSI] = "osi",
		[KVM_EXIT_SYSTEM_EVENT] = "system_event", [KVM_EXIT_X86_RDMSR] = "x86_rdmsr",
		[KVM_EXIT_X86_WRMSR] = "x86_wrmsr",
	};

	if (r < sizeof(names) / sizeof(names[0]) && names[r])
		return names[r];
	return "other";
}

static struct slot *slot_by_id(uint32_t id)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].used && slots[i].id == id)
			return &slots[i];
	return NULL;
}

/* Host address of [gpa, gpa+len) if it lies inside one slot. */
static void *gpa_to_hva(uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < MAX_SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->used && gpa >= s->gpa && gpa - s->gpa + len <= s->size)
			return (char *)s->host + (gpa - s->gpa);
	}
	return NULL;
}

static int setup_cpuid(void)
{
	struct kvm_cpuid2 *cpuid = NULL;
	int nent = 64;

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return fail("calloc: out of memory");
		cpuid->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		if (errno != E2BIG || nent >= 4096) {
			fail_errno("KVM_GET_SUPPORTED_CPUID");
			free(cpuid);
			return -1;
		}
		free(cpuid);
		nent *= 2;
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid)) {
		fail_errno("KVM_SET_CPUID2");
		free(cpuid);
		return -1;
	}
	free(cpuid);
	return 0;
}

static void destroy_vm(void)
{
	if (run)
		munmap(run, run_size);	/* the mapping pins the vCPU file */
	run = NULL;
	if (vcpu_fd >= 0)
		close(vcpu_fd);
	if (vm_fd >= 0)
		close(vm_fd);	/* last reference: kvm_destroy_vm() runs here */
	vcpu_fd = vm_fd = -1;
	for (int i = 0; i < MAX_SLOTS; i++) {
		if (slots[i].used)
			munmap(slots[i].host, slots[i].size);
		slots[i].used = false;
	}
	sregs_done = false;
}

static int ensure_vm(void)
{
	int sz;

	if (vm_fd >= 0)
		return 0;
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		return fail_errno("KVM_CREATE_VM");
	/* No KVM_CREATE_IRQCHIP: without an in-kernel LAPIC, HLT exits to us. */
	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (vcpu_fd < 0) {
		fail_errno("KVM_CREATE_VCPU");
		goto err;
	}
	sz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		if (sz < 0)
			fail_errno("KVM_GET_VCPU_MMAP_SIZE");
		else
			fail("KVM_GET_VCPU_MMAP_SIZE: %d is too small", sz);
		goto err;
	}
	run_size = sz;
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED) {
		run = NULL;
		fail_errno("mmap(vcpu kvm_run)");
		goto err;
	}
	/* Long mode needs CPUID.80000001H:EDX.LM in the guest's CPUID. */
	if (setup_cpuid())
		goto err;
	return 0;
err:
	destroy_vm();
	return -1;
}

/* ------------------------------------------------------------------ */
/* Steps                                                               */
/* ------------------------------------------------------------------ */

static int set_region(struct slot *s, uint64_t gpa, uint64_t size, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)s->host,
	};

	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return fail_errno("KVM_SET_USER_MEMORY_REGION");
	return 0;
}

static int do_memslot(const struct step *st)
{
	struct slot *s = NULL;

	if (ensure_vm())
		return -1;
	for (int i = 0; i < MAX_SLOTS && !s; i++)
		if (!slots[i].used)
			s = &slots[i];
	if (!s)
		return fail("more than %d live slots", MAX_SLOTS);
	s->id = (uint32_t)st->a;
	s->size = st->c;
	s->host = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
	if (s->host == MAP_FAILED)
		return fail_errno("mmap(guest memory)");
	if (set_region(s, st->b, st->c, st->flags)) {
		munmap(s->host, s->size);
		return -1;
	}
	s->gpa = st->b;
	s->flags = st->flags;
	s->used = true;
	return 0;
}

static int do_memslot_change(const struct step *st)
{
	struct slot *s = slot_by_id((uint32_t)st->a);

	if (!s)
		return fail("slot %" PRIu64 " does not exist", st->a);
	switch (st->op) {
	case OP_MEMSLOT_FLAGS:
		if (set_region(s, s->gpa, s->size, st->flags))
			return -1;
		s->flags = st->flags;
		break;
	case OP_MEMSLOT_MOVE:
		if (set_region(s, st->b, s->size, s->flags))
			return -1;
		s->gpa = st->b;
		break;
	default:	/* OP_MEMSLOT_DELETE */
		if (set_region(s, s->gpa, 0, s->flags))
			return -1;
		munmap(s->host, s->size);
		s->used = false;
		break;
	}
	return 0;
}

static int do_pagetables(uint64_t root)
{
	uint64_t *pml4 = gpa_to_hva(root, PAGE_SIZE);
	uint64_t *pdpt = gpa_to_hva(root + PAGE_SIZE, PAGE_SIZE);
	uint64_t *pd = gpa_to_hva(root + 2 * PAGE_SIZE, PAGE_SIZE);

	if (!pml4 || !pdpt || !pd)
		return fail("page tables at 0x%" PRIx64 " are not inside memslots", root);
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	memset(pd, 0, PAGE_SIZE);
	pml4[0] = (root + PAGE_SIZE) | PTE_P | PTE_W;
	pdpt[0] = (root + 2 * PAGE_SIZE) | PTE_P | PTE_W;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_W | PTE_PS;
	return 0;
}

static void hexbytes(struct sbuf *b, const uint8_t *p, unsigned n)
{
	sb_printf(b, "\"");
	for (unsigned i = 0; i < n; i++)
		sb_printf(b, "%02x", p[i]);
	sb_printf(b, "\"");
}

/* Describe an exit we did not expect into `extra`; return -1. */
static int unexpected_exit(void)
{
	struct kvm_run *r = run;
	struct kvm_regs regs;

	sb_printf(&extra, ",\"exit_reason\":%u,\"exit\":\"%s\"", r->exit_reason,
		  exit_name(r->exit_reason));
	switch (r->exit_reason) {
	case KVM_EXIT_MMIO:
		sb_printf(&extra, ",\"phys_addr\":\"0x%llx\",\"len\":%u,\"is_write\":%s,\"data\":",
			  (unsigned long long)r->mmio.phys_addr, r->mmio.len,
			  r->mmio.is_write ? "true" : "false");
		hexbytes(&extra, r->mmio.data, r->mmio.len <= 8 ? r->mmio.len : 8);
		break;
	case KVM_EXIT_IO:
		sb_printf(&extra, ",\"direction\":%u,\"size\":%u,\"port\":\"0x%x\",\"count\":%u",
			  r->io.direction, r->io.size, r->io.port, r->io.count);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		sb_printf(&extra, ",\"hardware_entry_failure_reason\":\"0x%llx\",\"cpu\":%u",
			  (unsigned long long)r->fail_entry.hardware_entry_failure_reason,
			  r->fail_entry.cpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR: {
		unsigned n = r->internal.ndata;

		if (n > 16)
			n = 16;
		sb_printf(&extra, ",\"suberror\":%u,\"ndata\":%u,\"data\":[",
			  r->internal.suberror, r->internal.ndata);
		for (unsigned i = 0; i < n; i++)
			sb_printf(&extra, "%s\"0x%llx\"", i ? "," : "",
				  (unsigned long long)r->internal.data[i]);
		sb_printf(&extra, "]");
		break;
	}
	case KVM_EXIT_SYSTEM_EVENT:
		sb_printf(&extra, ",\"type\":%u", r->system_event.type);
		break;
	case KVM_EXIT_EXCEPTION:
		sb_printf(&extra, ",\"exception\":%u,\"error_code\":%u",
			  r->ex.exception, r->ex.error_code);
		break;
	default:
		break;
	}
	if (!ioctl(vcpu_fd, KVM_GET_REGS, &regs))
		sb_printf(&extra, ",\"rip\":\"0x%llx\"", (unsigned long long)regs.rip);
	return fail("unexpected KVM exit %u (%s)", r->exit_reason, exit_name(r->exit_reason));
}

/*
 * Place `code` followed by `hlt` at the code GPA, point RIP at it with the
 * given RAX/RBX and KVM_RUN until KVM_EXIT_HLT.  MMIO exits are completed and
 * reported when allow_mmio (reads are answered with zeroes).
 */
static int run_guest(const uint8_t *code, unsigned len, uint64_t rax, uint64_t rbx,
		     bool allow_mmio, uint64_t *rbx_out)
{
	struct kvm_regs regs;
	uint8_t *hva = gpa_to_hva(code_gpa, len + 1);
	struct sbuf mm = { 0 };
	int nmmio = 0, rc = -1;

	if (!hva)
		return fail("code GPA 0x%" PRIx64 " is not inside a memslot", code_gpa);
	memcpy(hva, code, len);
	hva[len] = 0xf4;	/* hlt */

	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs))
		return fail_errno("KVM_GET_REGS");
	regs.rip = code_gpa;
	regs.rflags = 0x2;
	regs.rax = rax;
	regs.rbx = rbx;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs))
		return fail_errno("KVM_SET_REGS");

	for (int n = 0;; n++) {
		if (n == MAX_EXITS) {
			fail("no KVM_EXIT_HLT after %d KVM_RUN calls", MAX_EXITS);
			goto out;
		}
		if (ioctl(vcpu_fd, KVM_RUN, NULL)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fail_errno("KVM_RUN");
			goto out;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason == KVM_EXIT_MMIO && allow_mmio) {
			unsigned l = run->mmio.len <= 8 ? run->mmio.len : 8;

			if (nmmio < MAX_MMIO) {
				sb_printf(&mm, "%s{\"phys_addr\":\"0x%llx\",\"len\":%u,\"is_write\":%s",
					  nmmio ? "," : "", (unsigned long long)run->mmio.phys_addr,
					  run->mmio.len, run->mmio.is_write ? "true" : "false");
				if (run->mmio.is_write) {
					sb_printf(&mm, ",\"data\":");
					hexbytes(&mm, run->mmio.data, l);
				}
				sb_printf(&mm, "}");
			}
			nmmio++;
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0, sizeof(run->mmio.data));
			continue;	/* the next KVM_RUN completes the access */
		}
		unexpected_exit();
		goto out;
	}
	if (nmmio)
		sb_printf(&extra, ",\"exit\":\"mmio\",\"mmio_exits\":%d,\"mmio\":[%s]", nmmio, mm.p);
	if (rbx_out) {
		if (ioctl(vcpu_fd, KVM_GET_REGS, &regs)) {
			fail_errno("KVM_GET_REGS");
			goto out;
		}
		*rbx_out = regs.rbx;
	}
	rc = 0;
out:
	free(mm.p);
	return rc;
}

static int do_cr3(uint64_t root)
{
	static const uint8_t none[1];
	struct kvm_sregs sr;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sr))
		return fail_errno("KVM_GET_SREGS");
	if (!sregs_done) {
		struct kvm_segment cs = {
			.base = 0, .limit = 0xffffffff, .selector = 0x8,
			.type = 11, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
		};
		struct kvm_segment ds = {
			.base = 0, .limit = 0xffffffff, .selector = 0x10,
			.type = 3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
		};
		struct kvm_segment tr = {
			.base = 0, .limit = 0x67, .selector = 0x18,
			.type = 11, .present = 1, .s = 0,	/* busy 64-bit TSS */
		};
		struct kvm_segment ldt = { .type = 2, .unusable = 1 };

		sr.cs = cs;
		sr.ds = sr.es = sr.fs = sr.gs = sr.ss = ds;
		sr.tr = tr;
		sr.ldt = ldt;
		sr.gdt.base = 0;
		sr.gdt.limit = 0x1f;
		sr.idt.base = 0;
		sr.idt.limit = 0;	/* any exception ends in a triple fault */
		sr.cr0 = X86_CR0_PG | X86_CR0_ET | X86_CR0_PE;	/* 0x80000011 */
		sr.cr4 = X86_CR4_PAE;
		sr.efer = EFER_LME | EFER_LMA;			/* 0x500 */
	}
	sr.cr3 = root;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sr))
		return fail_errno("KVM_SET_SREGS");
	sregs_done = true;
	/* A lone hlt: KVM_RUN loads the MMU (the shadow root for cr3) first. */
	return run_guest(none, 0, 0, 0, false, NULL);
}

static int do_access(const struct step *st)
{
	static const uint8_t store_op[9][3] = {
		[1] = { 0x88, 0x18 }, [2] = { 0x66, 0x89, 0x18 },
		[4] = { 0x89, 0x18 }, [8] = { 0x48, 0x89, 0x18 },
	};
	static const uint8_t load_op[9][3] = {
		[1] = { 0x8a, 0x18 }, [2] = { 0x66, 0x8b, 0x18 },
		[4] = { 0x8b, 0x18 }, [8] = { 0x48, 0x8b, 0x18 },
	};
	static const uint8_t rmw_op[9][5] = {
		[1] = { 0xf0, 0x80, 0x00, 0x01 }, [2] = { 0x66, 0xf0, 0x83, 0x00, 0x01 },
		[4] = { 0xf0, 0x83, 0x00, 0x01 }, [8] = { 0xf0, 0x48, 0x83, 0x00, 0x01 },
	};
	static const unsigned mov_len[9] = { [1] = 2, [2] = 3, [4] = 2, [8] = 3 };
	static const unsigned rmw_len[9] = { [1] = 4, [2] = 5, [4] = 4, [8] = 5 };
	unsigned w = (unsigned)st->b;
	uint64_t val = 0;
	int rc;

	switch (st->op) {
	case OP_STORE:
		return run_guest(store_op[w], mov_len[w], st->a, st->c, true, NULL);
	case OP_LOAD:
		rc = run_guest(load_op[w], mov_len[w], st->a, 0, true, &val);
		if (!rc) {
			if (w < 8)
				val &= (1ULL << (8 * w)) - 1;
			sb_printf(&extra, ",\"value\":\"0x%" PRIx64 "\"", val);
		}
		return rc;
	default:
		return run_guest(rmw_op[w], rmw_len[w], st->a, 0, true, NULL);
	}
}

static int do_mark(const char *text)
{
	char buf[1024];
	int n;

	if (marker_fd < 0)
		return 0;
	n = snprintf(buf, sizeof(buf), "pagetrack: %s", text);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(marker_fd, buf, n) != n)
		return fail_errno("write(trace_marker)");
	return 0;
}

/* Read one binary stats file (header, descriptors, data) as a JSON object. */
static int dump_stats(int owner_fd, const char *what, struct sbuf *out)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	char *descs = NULL;
	uint64_t *data = NULL;
	size_t dsz, dend = 0;
	int sfd, rc = -1;

	sfd = ioctl(owner_fd, KVM_GET_STATS_FD, NULL);
	if (sfd < 0)
		return fail("KVM_GET_STATS_FD(%s): %s (errno %d)", what, strerror(errno), errno);
	if (pread(sfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		fail("read %s stats header: %s", what, strerror(errno));
		goto out;
	}
	dsz = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc ? h.num_desc : 1, dsz);
	if (!descs) {
		fail("calloc: out of memory");
		goto out;
	}
	if (pread(sfd, descs, dsz * h.num_desc, h.desc_offset) != (ssize_t)(dsz * h.num_desc)) {
		fail("read %s stats descriptors: %s", what, strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsz);
		if (d->offset + (size_t)d->size * 8 > dend)
			dend = d->offset + (size_t)d->size * 8;
	}
	data = calloc(1, dend ? dend : 8);
	if (!data) {
		fail("calloc: out of memory");
		goto out;
	}
	if (dend && pread(sfd, data, dend, h.data_offset) != (ssize_t)dend) {
		fail("read %s stats data: %s", what, strerror(errno));
		goto out;
	}
	sb_printf(out, "{");
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const uint64_t *v;
		char name[256];

		d = (struct kvm_stats_desc *)(descs + i * dsz);
		v = (const uint64_t *)((const char *)data + d->offset);
		snprintf(name, sizeof(name), "%.*s", (int)h.name_size, d->name);
		sb_printf(out, "%s", i ? "," : "");
		sb_str(out, name);
		if (d->size == 1) {
			sb_printf(out, ":%" PRIu64, v[0]);
		} else {	/* histograms */
			sb_printf(out, ":[");
			for (uint32_t k = 0; k < d->size; k++)
				sb_printf(out, "%s%" PRIu64, k ? "," : "", v[k]);
			sb_printf(out, "]");
		}
	}
	sb_printf(out, "}");
	rc = 0;
out:
	free(descs);
	free(data);
	close(sfd);	/* a stats fd holds a reference on the VM / vCPU */
	return rc;
}

static int do_stats(void)
{
	if (ensure_vm())
		return -1;
	sb_printf(&extra, ",\"vm\":");
	if (dump_stats(vm_fd, "vm", &extra))
		return -1;
	sb_printf(&extra, ",\"vcpu\":");
	return dump_stats(vcpu_fd, "vcpu", &extra);
}

static int run_step(const struct step *st)
{
	switch (st->op) {
	case OP_MEMSLOT:
		return do_memslot(st);
	case OP_MEMSLOT_FLAGS:
	case OP_MEMSLOT_MOVE:
	case OP_MEMSLOT_DELETE:
		return do_memslot_change(st);
	case OP_PAGETABLES:
		return do_pagetables(st->a);
	case OP_CODE:
		code_gpa = st->a;
		return 0;
	case OP_CR3:
		return do_cr3(st->a);
	case OP_STORE:
	case OP_LOAD:
	case OP_RMW:
		return do_access(st);
	case OP_MARK:
		return do_mark(st->text);
	case OP_STATS:
		return do_stats();
	case OP_DESTROY:
		destroy_vm();
		return 0;
	}
	return fail("internal: bad op");
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: guest-runner [--marker /path/to/trace_marker] SCENARIO|-\n");
	exit(2);
}

static void open_kvm(void)
{
	const char *why = "";
	char msg[512];
	int api;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		int e = errno;

		if (e == ENOENT)
			why = " (no device node: KVM is not loaded or no vendor module is bound; "
			      "check /proc/misc for 'kvm' and dmesg for kvm messages)";
		else if (e == ENODEV || e == ENXIO)
			why = " (the node exists but no KVM driver is registered behind it)";
		else if (e == EACCES || e == EPERM)
			why = " (permission denied: run as root or as a member of the kvm group)";
		snprintf(msg, sizeof(msg), "cannot open /dev/kvm: %s (errno %d)%s",
			 strerror(e), e, why);
		goto fail;
	}
	api = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(msg, sizeof(msg), "/dev/kvm: KVM_GET_API_VERSION returned %d%s%s, expected %d",
			 api, api < 0 ? ": " : "", api < 0 ? strerror(errno) : "", KVM_API_VERSION);
		goto fail;
	}
	return;
fail:
	fprintf(stderr, "guest-runner: %s\n", msg);
	print_line("open", 0, msg);
	exit(3);
}

int main(int argc, char **argv)
{
	const char *marker = NULL, *path = NULL;
	cpu_set_t cpus;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--marker") && i + 1 < argc)
			marker = argv[++i];
		else if (!strncmp(argv[i], "--marker=", 9))
			marker = argv[i] + 9;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			usage();
		else if (argv[i][0] == '-' && argv[i][1])
			usage();
		else if (!path)
			path = argv[i];
		else
			usage();
	}
	if (!path)
		usage();

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_file(path);	/* exits 2 on a malformed scenario */

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		fprintf(stderr, "guest-runner: warning: cannot pin to CPU 0: %s\n", strerror(errno));

	if (marker) {
		marker_fd = open(marker, O_WRONLY | O_CLOEXEC);
		if (marker_fd < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "cannot open marker %s: %s (errno %d)",
				 marker, strerror(errno), errno);
			fprintf(stderr, "guest-runner: %s\n", msg);
			print_line("marker", 0, msg);
			return 1;
		}
	}

	open_kvm();	/* exits 3 when /dev/kvm is unusable */

	for (i = 0; i < nsteps; i++) {
		const struct step *st = &steps[i];
		struct sbuf head = { 0 };
		int rc;

		sb_reset(&extra);
		errmsg[0] = 0;
		rc = run_step(st);
		sb_printf(&head, "{\"step\":%d,\"line\":%d,\"op\":\"%s\",\"ok\":%s",
			  i + 1, st->line, op_names[st->op], rc ? "false" : "true");
		if (rc) {
			sb_printf(&head, ",\"error\":");
			sb_str(&head, errmsg);
		}
		printf("%s%s}\n", head.p, extra.p ? extra.p : "");
		fflush(stdout);
		free(head.p);
		if (rc) {
			fprintf(stderr, "guest-runner: step %d (%s:%d %s) failed: %s\n",
				i + 1, scn_name, st->line, op_names[st->op], errmsg);
			return 1;
		}
	}
	destroy_vm();
	return 0;
}
