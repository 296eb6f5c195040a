/** Kernel constants of the linux-4.6 x86 KVM MMU that the model relies on. */

/** 4 KiB pages: gpa >> PAGE_SHIFT = gfn. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** KVM_ADDRESS_SPACE_NUM on x86: 0 is normal memory, 1 is SMM (spec 1.4). */
export const ADDRESS_SPACES = 2;

/** KVM_MEM_SLOTS_NUM in 4.6 (509 user slots + 3 private ones); ids are 0..511 per address space. */
export const MEM_SLOTS_NUM = 512;

/** KVM_MEM_MAX_NR_PAGES: the largest memslot the kernel accepts. */
export const MEM_MAX_NR_PAGES = 2 ** 31 - 1;

/** The model's guest-physical limit: 52-bit addresses, so gfns stay below 2^40 and are safe integers. */
export const GFN_LIMIT = 2 ** 40;

/** gfn_track[mode][gfn] is an unsigned short (spec 1.1, 2.1). */
export const USHRT_MAX = 0xffff;

/** Page-table levels the MMU maps with: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB (PT_MAX_HUGEPAGE_LEVEL, spec 1.3). */
export const MAX_MAPPING_LEVEL = 3;
/** Levels that own a disallow_lpage counter array (lpage_info[level - 2]). */
export const HUGE_LEVELS = [2, 3] as const;
export type HugeLevel = (typeof HUGE_LEVELS)[number];
export type MappingLevel = 1 | 2 | 3;
/** Shadow pages exist at guest page-table levels 1..4 (4-level paging). */
export const MAX_SP_LEVEL = 4;

/** Memslot flags (uapi/linux/kvm.h). */
export const KVM_MEM_LOG_DIRTY_PAGES = 1;
export const KVM_MEM_READONLY = 2;
export const VALID_MEMSLOT_FLAGS = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;

/** The user id under which KVM's own shadow-page accounting tracks pages (spec 5.1). */
export const KVM_MMU_USER = 'kvm-mmu';
/** KVM's own notifier node, registered at VM creation (spec 4.4). */
export const KVM_MMU_NODE = 'kvm-mmu';

/** Largest write one command may describe; emulated writes are a few bytes, this only bounds event counts. */
export const MAX_WRITE_BYTES = 1 << 16;
