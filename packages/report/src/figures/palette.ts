/**
 * Colours of the Okabe–Ito palette (distinguishable with the common forms of
 * colour-vision deficiency), plus neutral greys.
 *
 * @example
 * ```ts
 * const c: PaletteColor = "vermillion";
 * ```
 */
export type PaletteColor =
  | "black"
  | "orange"
  | "sky-blue"
  | "bluish-green"
  | "yellow"
  | "blue"
  | "vermillion"
  | "reddish-purple"
  | "grey"
  | "light-grey"
  | "white";

/** Hex value of every {@link PaletteColor} (Okabe & Ito, "Color Universal Design", 2008). */
export const PALETTE: Readonly<Record<PaletteColor, string>> = Object.freeze({
  black: "#000000",
  orange: "#e69f00",
  "sky-blue": "#56b4e9",
  "bluish-green": "#009e73",
  yellow: "#f0e442",
  blue: "#0072b2",
  vermillion: "#d55e00",
  "reddish-purple": "#cc79a7",
  grey: "#999999",
  "light-grey": "#e8e8e8",
  white: "#ffffff",
});

/**
 * A texture drawn over a colour, so that categories sharing a hue (or seen in
 * greyscale print) still differ.
 *
 * @example
 * ```ts
 * const p: Pattern = "crosshatch";
 * ```
 */
export type Pattern = "solid" | "hatch" | "crosshatch" | "dots" | "stripes";

/**
 * How a category is drawn: a palette colour and an optional pattern.
 *
 * @example
 * ```ts
 * const leaked: Swatch = { color: "orange", pattern: "hatch" };
 * ```
 */
export interface Swatch {
  color: PaletteColor;
  pattern?: Pattern;
}

// Dark fills get white texture, light fills black, so the pattern stays visible.
const DARK: ReadonlySet<PaletteColor> = new Set(["black", "blue", "vermillion", "bluish-green"]);

const TEXTURE: Readonly<Record<Exclude<Pattern, "solid">, (ink: string) => string>> = {
  hatch: (ink) => `<path d="M-1 1l2-2M0 6l6-6M5 7l2-2" stroke="${ink}" stroke-width="1.2"/>`,
  crosshatch: (ink) =>
    `<path d="M-1 1l2-2M0 6l6-6M5 7l2-2M-1 5l2 2M0 0l6 6M5-1l2 2" stroke="${ink}" stroke-width="1"/>`,
  dots: (ink) => `<circle cx="3" cy="3" r="1.2" fill="${ink}"/>`,
  stripes: (ink) => `<path d="M0 1.5h6M0 4.5h6" stroke="${ink}" stroke-width="1"/>`,
};

/** The `fill` value for `swatch`: a colour, or a reference to a pattern from {@link swatchDefs}. */
export function swatchFill(swatch: Swatch, idPrefix: string, index: number): string {
  const pattern = swatch.pattern ?? "solid";
  return pattern === "solid" ? PALETTE[swatch.color] : `url(#${idPrefix}p${index})`;
}

/** `<pattern>` definitions for the swatches that have one, ids from `idPrefix` and their index. */
export function swatchDefs(swatches: readonly Swatch[], idPrefix: string): string {
  let out = "";
  swatches.forEach((swatch, i) => {
    const pattern = swatch.pattern ?? "solid";
    if (pattern === "solid") return;
    const ink = DARK.has(swatch.color) ? "#ffffff" : "#000000";
    out += `<pattern id="${idPrefix}p${i}" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="${PALETTE[swatch.color]}"/>${TEXTURE[pattern](ink)}</pattern>`;
  });
  return out;
}
