/**
 * Decoders for branches, exception generation and system instructions
 * (hints, barriers, PSTATE, MRS/MSR, SYS: cache maintenance, TLBI, AT).
 */
import { condHolds } from './alu.js';
import {
  ACC_WRITE,
  EC_HVC,
  EC_SMC,
  EC_SVC,
  EC_BRK,
  EC_SYS,
  GuestFault,
  SINK,
  SP,
  P_R0,
  P_R1,
  P_W0,
  P_W1,
  type Cpu,
} from './cpu.js';
import { bigHi, bigLo, toBig } from './int64.js';
import { abort, translateVa } from './mmu.js';
import type { Handler } from './phys.js';
import {
  CNTPCT_EL0,
  CNTVCT_EL0,
  DAIF,
  NZCV,
  SP_EL0,
  TPIDR_EL1,
  checkEl0,
  readSysreg,
  sysTrapIss,
  writeSysreg,
} from './sysregs.js';

type H = Handler;
const wr = (d: number): number => (d === 31 ? SINK : d);

/** Set pc = address of this instruction + off. */
function branchRel(c: Cpu, off: number): void {
  const l = (c.pcLo >>> 0) - 4 + off;
  c.pcLo = l | 0;
  c.pcHi = (c.pcHi + Math.floor(l / 4294967296)) | 0;
}

export function decodeBranchSys(insn: number): H | undefined {
  // B / BL
  if ((insn & 0x7c000000) === 0x14000000) {
    const off = ((insn << 6) >> 6) * 4;
    if (insn >>> 31) {
      return (c) => {
        c.xl[30] = c.pcLo;
        c.xh[30] = c.pcHi;
        branchRel(c, off);
      };
    }
    return (c) => branchRel(c, off);
  }
  // CBZ / CBNZ
  if ((insn & 0x7e000000) === 0x34000000) {
    const sf = insn >>> 31 !== 0;
    const nz = ((insn >>> 24) & 1) !== 0;
    const t = insn & 31;
    const off = ((insn << 8) >> 13) * 4;
    return (c) => {
      const zero = sf ? (c.xl[t]! | c.xh[t]!) === 0 : c.xl[t] === 0;
      if (zero !== nz) branchRel(c, off);
    };
  }
  // TBZ / TBNZ
  if ((insn & 0x7e000000) === 0x36000000) {
    const bit = ((insn >>> 26) & 32) | ((insn >>> 19) & 31);
    const nz = ((insn >>> 24) & 1) !== 0;
    const t = insn & 31;
    const off = ((insn << 13) >> 18) * 4;
    const hi = bit >= 32;
    const mask = 1 << (bit & 31);
    return (c) => {
      const set = ((hi ? c.xh[t]! : c.xl[t]!) & mask) !== 0;
      if (set === nz) branchRel(c, off);
    };
  }
  // B.cond
  if ((insn & 0xff000010) === 0x54000000) return bcond(insn & 15, ((insn << 8) >> 13) * 4);
  // Exception generation
  if ((insn >>> 24) === 0xd4) return decodeException(insn);
  // Unconditional branch (register)
  if ((insn & 0xfe000000) >>> 0 === 0xd6000000) return decodeBranchReg(insn);
  // System
  if ((insn & 0xffc00000) >>> 0 === 0xd5000000) return decodeSystem(insn);
  return undefined;
}

/** B.cond with the condition test specialised per condition (one hot handler body each). */
function bcond(cond: number, off: number): H {
  switch (cond) {
    case 0:
      return (c) => {
        if (c.zf !== 0) branchRel(c, off);
      };
    case 1:
      return (c) => {
        if (c.zf === 0) branchRel(c, off);
      };
    case 2:
      return (c) => {
        if (c.cf !== 0) branchRel(c, off);
      };
    case 3:
      return (c) => {
        if (c.cf === 0) branchRel(c, off);
      };
    case 4:
      return (c) => {
        if (c.nf !== 0) branchRel(c, off);
      };
    case 5:
      return (c) => {
        if (c.nf === 0) branchRel(c, off);
      };
    case 8:
      return (c) => {
        if (c.cf !== 0 && c.zf === 0) branchRel(c, off);
      };
    case 9:
      return (c) => {
        if (!(c.cf !== 0 && c.zf === 0)) branchRel(c, off);
      };
    case 10:
      return (c) => {
        if (c.nf === c.vf) branchRel(c, off);
      };
    case 11:
      return (c) => {
        if (c.nf !== c.vf) branchRel(c, off);
      };
    case 12:
      return (c) => {
        if (c.nf === c.vf && c.zf === 0) branchRel(c, off);
      };
    case 13:
      return (c) => {
        if (!(c.nf === c.vf && c.zf === 0)) branchRel(c, off);
      };
    default:
      return (c) => {
        if (condHolds(c, cond)) branchRel(c, off);
      };
  }
}

function decodeException(insn: number): H | undefined {
  const opc = (insn >>> 21) & 7;
  const ll = insn & 3;
  const imm = (insn >>> 5) & 0xffff;
  if ((insn >>> 2) & 7) return undefined;
  if (opc === 0) {
    if (ll === 1) return (c) => c.exceptionNext(EC_SVC, imm);
    if (ll === 2 || ll === 3) {
      const isSmc = ll === 3;
      return (c) => {
        if (c.el === 0) c.undef();
        if (c.onHypercall(c, imm, isSmc)) return;
        // No EL2/EL3: report as an HVC/SMC-class trap would be wrong; the instruction is UNDEFINED.
        c.undef();
      };
    }
    return undefined;
  }
  if (opc === 1 && ll === 0) {
    // BRK: preferred return is the BRK itself.
    return (c) => {
      throw new GuestFault(EC_BRK, imm);
    };
  }
  return undefined;
}

function decodeBranchReg(insn: number): H | undefined {
  const opc = (insn >>> 21) & 15;
  const op2 = (insn >>> 16) & 31;
  const op3 = (insn >>> 10) & 63;
  const n = (insn >>> 5) & 31;
  const op4 = insn & 31;
  if (op2 !== 31 || op3 !== 0 || op4 !== 0) return undefined;
  switch (opc) {
    case 0: // BR
    case 2: // RET
      return (c) => {
        c.pcLo = c.xl[n]!;
        c.pcHi = c.xh[n]!;
      };
    case 1: // BLR
      return (c) => {
        const l = c.xl[n]!;
        const h = c.xh[n]!;
        c.xl[30] = c.pcLo;
        c.xh[30] = c.pcHi;
        c.pcLo = l;
        c.pcHi = h;
      };
    case 4: // ERET
      if (n !== 31) return undefined;
      return (c) => {
        if (c.el === 0) c.undef();
        c.eret();
      };
  }
  return undefined;
}

function decodeSystem(insn: number): H | undefined {
  const l = (insn >>> 21) & 1;
  const op0 = (insn >>> 19) & 3;
  const op1 = (insn >>> 16) & 7;
  const crn = (insn >>> 12) & 15;
  const crm = (insn >>> 8) & 15;
  const op2 = (insn >>> 5) & 7;
  const rt = insn & 31;
  if (l === 0 && op0 === 0) {
    if (crn === 2 && rt === 31) return decodeHint((crm << 3) | op2);
    if (crn === 3 && rt === 31) return decodeBarrier(op2);
    if (crn === 4 && rt === 31) return decodePstate(op1, op2, crm);
    return undefined;
  }
  if (op0 === 1) return decodeSys(l, op1, crn, crm, op2, rt);
  if (op0 >= 2) {
    const key = (insn >>> 5) & 0xffff;
    if (l) return decodeMrs(key, rt);
    return decodeMsr(key, rt);
  }
  return undefined;
}

function decodeHint(op: number): H {
  switch (op) {
    case 1: // YIELD (cpu_relax)
    case 2: // WFE: no event stream is modelled; give the other vCPUs a turn (pointless with one).
      return (c) => {
        if (c.phys.cpus.length > 1) c.sliceEnd = 0;
      };
    case 3: // WFI
      return (c) => {
        if (!c.irqLine && !c.fiqLine) c.halted = true;
        c.sliceEnd = 0;
      };
    default: // NOP, SEV, SEVL, and hints that are NOPs on ARMv8.0 (PAC, BTI, ESB...)
      return () => {};
  }
}

function decodeBarrier(op2: number): H | undefined {
  switch (op2) {
    case 2: // CLREX
      return (c) => {
        c.monAddr = -1;
      };
    case 4: // DSB
    case 5: // DMB
    case 6: // ISB
      return () => {};
  }
  return undefined;
}

function decodePstate(op1: number, op2: number, crm: number): H | undefined {
  if (op1 === 0 && op2 === 5) {
    // SPSel
    return (c) => {
      if (c.el === 0) c.undef();
      c.setMode(c.el, crm & 1);
    };
  }
  if (op1 === 3 && (op2 === 6 || op2 === 7)) {
    const bits = (crm & 15) << 6;
    const set = op2 === 6;
    return (c) => {
      if (c.el === 0 && (c.sctlr & (1n << 9n)) === 0n) throw new GuestFault(EC_SYS, 0); // UMA=0
      c.daif = set ? c.daif | bits : c.daif & ~bits;
      if (!set && c.interruptPending()) c.sliceEnd = 0; // take it before the next instruction
    };
  }
  return undefined; // PAN, UAO, SSBS, DIT...: not implemented (ARMv8.0)
}

function decodeMrs(key: number, rt: number): H {
  const d = wr(rt);
  // Hot registers read without BigInt: the per-CPU offset and `current`.
  if (key === TPIDR_EL1) {
    return (c) => {
      if (c.el === 0) checkEl0(c, key, rt, true);
      c.xl[d] = c.tpidr1l;
      c.xh[d] = c.tpidr1h;
    };
  }
  if (key === DAIF) {
    // local_irq_save() reads DAIF constantly.
    return (c) => {
      if (c.el === 0) checkEl0(c, key, rt, true);
      c.xl[d] = c.daif;
      c.xh[d] = 0;
    };
  }
  if (key === NZCV) {
    return (c) => {
      c.xl[d] = c.nzcv << 28;
      c.xh[d] = 0;
    };
  }
  if (key === CNTVCT_EL0 || key === CNTPCT_EL0) {
    // sched_clock and the vDSO read the counter often: no BigInt on this path.
    return (c) => {
      if (c.el === 0) checkEl0(c, key, rt, true);
      const t = c.counterTicks();
      c.xl[d] = t % 4294967296 | 0;
      c.xh[d] = Math.floor(t / 4294967296) | 0;
    };
  }
  if (key === SP_EL0) {
    // `current` on arm64 Linux lives in SP_EL0.
    return (c) => {
      if (c.el === 0) checkEl0(c, key, rt, true);
      if (c.spIsEl0()) {
        c.xl[d] = c.xl[SP]!;
        c.xh[d] = c.xh[SP]!;
      } else {
        c.xl[d] = c.spBank[0]!;
        c.xh[d] = c.spBank[1]!;
      }
    };
  }
  return (c) => {
    if (c.el === 0) checkEl0(c, key, rt, true);
    const v = readSysreg(c, key);
    c.xl[d] = bigLo(v);
    c.xh[d] = bigHi(v);
  };
}

function decodeMsr(key: number, rt: number): H {
  if (key === DAIF) {
    // local_irq_restore(): end the slice only if this unmasks a pending interrupt.
    return (c) => {
      if (c.el === 0) checkEl0(c, key, rt, false);
      c.daif = c.xl[rt]! & 0x3c0;
      if (c.interruptPending()) c.sliceEnd = 0;
    };
  }
  if (key === NZCV) {
    return (c) => {
      c.nzcv = (c.xl[rt]! >>> 28) & 15;
    };
  }
  if (key === TPIDR_EL1) {
    return (c) => {
      if (c.el === 0) checkEl0(c, key, rt, false);
      c.tpidr1l = c.xl[rt]!;
      c.tpidr1h = c.xh[rt]!;
    };
  }
  if (key === SP_EL0) {
    return (c) => {
      if (c.el === 0) checkEl0(c, key, rt, false);
      const i = c.spIsEl0() ? SP : -1;
      if (i === SP) {
        c.xl[SP] = c.xl[rt]!;
        c.xh[SP] = c.xh[rt]!;
      } else {
        c.spBank[0] = c.xl[rt]!;
        c.spBank[1] = c.xh[rt]!;
      }
    };
  }
  return (c) => {
    if (c.el === 0) checkEl0(c, key, rt, false);
    writeSysreg(c, key, toBig(c.xl[rt]!, c.xh[rt]!));
  };
}

const SCTLR_DZE = 1n << 14n;
const SCTLR_UCI = 1n << 26n;

/** DC/IC/TLBI/AT. Encodings by (op1, CRn, CRm, op2). */
function decodeSys(l: number, op1: number, crn: number, crm: number, op2: number, rt: number): H | undefined {
  if (l) return undefined; // SYSL: nothing defined
  const key = (1 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
  const el0ok = op1 === 3; // EL0-accessible maintenance ops have op1 = 3
  const trapEl0 = (c: Cpu, ctrlBit: bigint): void => {
    if (c.el !== 0) return;
    if (!el0ok) c.undef();
    if ((c.sctlr & ctrlBit) === 0n) throw new GuestFault(EC_SYS, sysTrapIss(key, rt, false));
  };
  if (crn === 8) {
    if (op1 !== 0 || (crm !== 3 && crm !== 7)) return undefined;
    // CRm = 3: inner-shareable forms, broadcast to every vCPU's TLB; CRm = 7: this vCPU only.
    const all = crm === 3;
    switch (op2) {
      case 0: // VMALLE1(IS)
        return (c) => {
          if (c.el === 0) c.undef();
          if (all) for (const p of c.phys.cpus) p.flushTlb();
          else c.flushTlb();
        };
      case 2: // ASIDE1(IS): we do not tag entries with ASIDs, so drop every non-global one
        return (c) => {
          if (c.el === 0) c.undef();
          if (all) for (const p of c.phys.cpus) p.flushTlbNonGlobal();
          else c.flushTlbNonGlobal();
        };
      case 1: // VAE1(IS)
      case 3: // VAAE1(IS)
      case 5: // VALE1(IS)
      case 7: // VAALE1(IS)
        return (c) => {
          if (c.el === 0) c.undef();
          // Xt[43:0] = VA[55:12]; the VA's top byte is the sign extension of bit 55.
          const xl = c.xl[rt]!;
          let hi = ((c.xh[rt]! & 0xfff) << 12) | (xl >>> 20);
          if (hi & 0x800000) hi |= 0xff000000;
          if (all) for (const p of c.phys.cpus) p.flushTlbVa(xl << 12, hi | 0);
          else c.flushTlbVa(xl << 12, hi | 0);
        };
    }
    return undefined;
  }
  if (crn === 7 && crm === 8 && op1 === 0 && op2 < 4) {
    // AT S1E1R/W, S1E0R/W
    const el0 = op2 >= 2;
    const write = (op2 & 1) !== 0;
    return (c) => {
      if (c.el === 0) c.undef();
      const lo = c.xl[rt]!;
      const hi = c.xh[rt]!;
      const t = translateVa(c, lo, hi);
      const need = el0 ? (write ? P_W0 : P_R0) : write ? P_W1 : P_R1;
      let fsc = t.fsc;
      if (fsc < 0 && (t.perms & need) === 0) fsc = 0x0c + t.level;
      if (fsc >= 0) {
        c.par = BigInt(1 | (fsc << 1));
      } else {
        const pa = BigInt(t.pa) + BigInt(lo & 0xfff);
        c.par = (pa & 0xfffffffff000n) | (0xffn << 56n); // attributes: normal WB (we do not model MAIR)
      }
    };
  }
  if (crn === 7) {
    if (op1 === 3 && crm === 4 && op2 === 1) {
      // DC ZVA: zero a 64-byte block
      return (c) => {
        if (c.el === 0) trapEl0(c, SCTLR_DZE);
        const lo = c.xl[rt]! & ~63;
        const hi = c.xh[rt]!;
        const i = c.translate(lo, hi, ACC_WRITE, c.wMask);
        const p = c.tlbRam[i]!;
        if (p >= 0) {
          // Fast RAM (clear_page zeroes whole pages this way): one fill.
          if (c.phys.codePages[p] !== 0) c.codeWritten(p);
          const o = p * 4096 + (lo & 0xfff);
          c.u8.fill(0, o, o + 64);
          return;
        }
        for (let k = 0; k < 64; k += 8) c.st64((lo + k) | 0, hi, 0, 0);
      };
    }
    if (op1 === 0 && (crm === 1 || crm === 5) && op2 === 0) {
      // IC IALLUIS / IC IALLU: CPU stores are snooped, but DMA into code pages is only
      // seen through this maintenance, so drop every decoded page.
      return (c) => {
        if (c.el === 0) c.undef();
        c.phys.invalidateAllCode();
        c.sliceEnd = 0;
      };
    }
    if (op1 === 3 && crm === 5 && op2 === 1) {
      // IC IVAU: drop the decoded instructions of the page holding the address.
      return (c) => {
        if (c.el === 0) trapEl0(c, SCTLR_UCI);
        const lo = c.xl[rt]!;
        const hi = c.xh[rt]!;
        const t = translateVa(c, lo, hi);
        if (t.fsc >= 0) throw cmFault(c, lo, hi, t.fsc);
        const page = c.phys.ramPage(t.pa);
        if (page >= 0 && c.phys.codePages[page] !== 0) c.codeWritten(page);
      };
    }
    if (op1 === 0 && (crm === 6 || crm === 10 || crm === 14) && op2 === 2) {
      // DC ISW/CSW/CISW
      return (c) => {
        if (c.el === 0) c.undef();
      };
    }
    if ((op1 === 0 && crm === 6 && op2 === 1) || (op1 === 3 && (crm === 10 || crm === 11 || crm === 12 || crm === 13 || crm === 14) && op2 === 1)) {
      // DC IVAC / CVAC / CVAU / CVAP / CVADP / CIVAC: translate (faults are reported with CM=1) and do nothing.
      return (c) => {
        if (op1 === 0 && c.el === 0) c.undef();
        if (c.el === 0) trapEl0(c, SCTLR_UCI);
        const lo = c.xl[rt]!;
        const hi = c.xh[rt]!;
        const t = translateVa(c, lo, hi);
        const need = c.el === 0 ? P_R0 : P_R1;
        if (t.fsc >= 0) throw cmFault(c, lo, hi, t.fsc);
        if ((t.perms & need) === 0) throw cmFault(c, lo, hi, 0x0c + t.level);
      };
    }
  }
  return undefined;
}

function cmFault(c: Cpu, lo: number, hi: number, fsc: number): GuestFault {
  const f = abort(c, lo, hi, 1, fsc);
  return new GuestFault(f.ec, f.iss | (1 << 8), f.far);
}

