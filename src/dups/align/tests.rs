use super::*;
use image::Rgb;

/// A garment on white: a shaded, patterned shape in `colour`.
fn garment(colour: [f32; 3]) -> RgbImage {
    RgbImage::from_fn(120, 160, |x, y| {
        let (u, v) = (x as f32 - 60.0, y as f32 - 85.0);
        if (u / 40.0).powi(2) + (v / 65.0).powi(2) > 1.0 {
            return Rgb([255, 255, 255]);
        }
        let shade = 0.6 + 0.4 * ((x as f32 / 9.0).sin() * (y as f32 / 13.0).cos()).abs();
        let stripe = if (y / 12) % 2 == 0 { 1.0 } else { 0.55 };
        Rgb(colour.map(|c| (c * shade * stripe).min(255.0) as u8))
    })
}

/// A garment on white with a fine print whose phase is `print` (another shot, another print).
fn printed(print: f32) -> RgbImage {
    let base = garment([60.0, 90.0, 190.0]);
    RgbImage::from_fn(base.width(), base.height(), |x, y| {
        let p = *base.get_pixel(x, y);
        if p.0 == [255, 255, 255] {
            return p;
        }
        let (u, v) = (x as f32, y as f32);
        let dots = ((u * 0.9 + print).sin() * (v * 0.7 + 2.0 * print).cos() + 1.0) / 2.0;
        Rgb(p.0.map(|c| (c as f32 * (0.55 + 0.45 * dots)) as u8))
    })
}

/// `img` turned by `degrees` about its centre (white where nothing was), bilinearly.
fn turned(img: &RgbImage, degrees: f32) -> RgbImage {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (w, h) = img.dimensions();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let (u, v) = (
            cx + dx * cos + dy * sin - 0.5,
            cy - dx * sin + dy * cos - 0.5,
        );
        if u < 0.0 || v < 0.0 || u >= (w - 1) as f32 || v >= (h - 1) as f32 {
            return Rgb([255, 255, 255]);
        }
        let (x0, y0, fx, fy) = (u as u32, v as u32, u.fract(), v.fract());
        let at = |x, y, c: usize| img.get_pixel(x, y).0[c] as f32;
        Rgb(std::array::from_fn(|c| {
            let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
            let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
            (top * (1.0 - fy) + bottom * fy).round() as u8
        }))
    })
}

#[test]
fn a_tilted_cropped_stamped_copy_is_the_same_shot() {
    let a = printed(0.0);
    let mut copy = image::imageops::crop_imm(&turned(&a, 4.0), 5, 6, 110, 148).to_image();
    for y in 20..34 {
        for x in 10..60 {
            copy.put_pixel(x, y, Rgb([250, 240, 20]));
        }
    }
    let c = Pixels::new(&a).compare(&Pixels::new(&copy), true);
    let d = c
        .detail
        .expect("both photos are large enough for their detail");
    assert!(d.same_shot(), "{c:?}");
    assert!(!c.colour_variant(), "{c:?}");
}

#[test]
fn the_same_pose_with_another_print_is_not_the_same_shot() {
    let c = Pixels::new(&printed(0.0)).compare(&Pixels::new(&printed(2.0)), true);
    let d = c
        .detail
        .expect("both photos are large enough for their detail");
    assert!(c.structure > ALIGNED, "the shapes line up: {c:?}");
    assert!(d.textured >= detail::TEXTURED && !d.same_shot(), "{c:?}");
}

#[test]
fn small_photos_and_unasked_pairs_skip_the_detail() {
    let small = image::imageops::thumbnail(&printed(0.0), 30, 40);
    let a = Pixels::new(&printed(0.0));
    assert!(a.detailed() && !Pixels::new(&small).detailed());
    assert!(a.compare(&Pixels::new(&small), true).detail.is_none());
    assert!(a.compare(&a, false).detail.is_none());
}

#[test]
fn a_low_wide_item_has_detail_but_is_not_broad() {
    // Sunglasses on white: 120 x 40 of content.
    let wide = RgbImage::from_fn(160, 100, |x, y| {
        if (20..140).contains(&x) && (30..70).contains(&y) {
            Rgb([(x * 7 % 200) as u8, 40, (y * 5 % 200) as u8])
        } else {
            Rgb([255, 255, 255])
        }
    });
    let p = Pixels::new(&wide);
    assert!(p.detailed() && !p.broad());
    assert!(Pixels::new(&printed(0.0)).broad());
}

#[test]
fn srgb_comes_back_from_packed_lab_within_a_few_levels() {
    for rgb in [
        [255, 255, 255],
        [0, 0, 0],
        [200, 40, 60],
        [170, 200, 230],
        [30, 40, 80],
    ] {
        let back = tone::srgb(&[pack(lab(rgb))])[0];
        for c in 0..3 {
            assert!(
                (back[c] - rgb[c] as f32).abs() <= 3.0,
                "{rgb:?} -> {back:?}"
            );
        }
    }
}

#[test]
fn lab_of_white_black_and_red() {
    let w = lab([255, 255, 255]);
    assert!(
        (w[0] - 100.0).abs() < 0.5 && w[1].abs() < 0.5 && w[2].abs() < 0.5,
        "{w:?}"
    );
    assert!(lab([0, 0, 0])[0].abs() < 0.5);
    let r = lab([255, 0, 0]);
    assert!(
        (r[0] - 53.2).abs() < 1.0 && (r[1] - 80.1).abs() < 1.5,
        "{r:?}"
    );
}

#[test]
fn a_mirrored_cropped_copy_aligns_and_agrees() {
    let a = garment([200.0, 40.0, 60.0]);
    let copy =
        image::imageops::flip_horizontal(&image::imageops::crop_imm(&a, 6, 4, 108, 150).to_image());
    let c = Pixels::new(&a).compare(&Pixels::new(&copy), true);
    assert!(c.structure > 0.85 && c.mirrored, "{c:?}");
    assert!(!c.colour_variant(), "{c:?}");
}

#[test]
fn the_same_garment_in_another_colour_is_a_colour_variant() {
    let red = garment([200.0, 40.0, 60.0]);
    let green = garment([40.0, 170.0, 70.0]);
    let c = Pixels::new(&red).compare(&Pixels::new(&green), true);
    assert!(c.structure > 0.6, "{c:?}");
    assert!(c.colour_variant(), "{c:?}");
}

#[test]
fn a_brighter_more_contrasted_copy_keeps_its_colours() {
    // Skin-like and pale colours, which a brighter, more contrasted edit pushes towards white
    // (chroma lost) and whose hue drifts as a channel clips.
    for colour in [
        [225.0, 170.0, 140.0],
        [200.0, 215.0, 235.0],
        [60.0, 80.0, 140.0],
    ] {
        let a = garment(colour);
        let edited =
            image::imageops::colorops::contrast(&image::imageops::colorops::brighten(&a, 40), 25.0);
        let c = Pixels::new(&a).compare(&Pixels::new(&edited), true);
        assert!(c.structure > 0.85, "{colour:?}: {c:?}");
        assert!(!c.colour_variant(), "{colour:?}: {c:?}");
        // The edit is found (image's contrast 25 multiplies by 1.56, brighten adds 40), and with
        // it undone the colours agree and the detail, clipped patches and all, is one shot's.
        let t = c.tone.expect("a tone edit");
        assert!(t.gain > 1.3 && t.level(127.5) > 150.0, "{colour:?}: {c:?}");
        let toned = c.toned_colour_distance.expect("measured with the edit");
        assert!(toned <= crate::dups::COLOURS_AGREE, "{colour:?}: {c:?}");
        assert!(c.detail.is_some_and(|d| d.same_shot()), "{colour:?}: {c:?}");
    }
    // A garment dyed another colour is no tone edit of its photo.
    let c = Pixels::new(&garment([60.0, 80.0, 140.0]))
        .compare(&Pixels::new(&garment([150.0, 60.0, 50.0])), true);
    assert!(c.tone.is_none() && c.colour_variant(), "{c:?}");
}

#[test]
fn a_stamped_patch_is_not_a_colour_change() {
    let a = garment([60.0, 80.0, 200.0]);
    let mut stamped = a.clone();
    for y in 100..116 {
        for x in 0..120 {
            stamped.put_pixel(x, y, Rgb([230, 30, 30]));
        }
    }
    let c = Pixels::new(&a).compare(&Pixels::new(&stamped), true);
    assert!(!c.colour_variant(), "{c:?}");
}

#[test]
fn colours_beside_a_banner_agree_beside_another_tint_they_do_not() {
    let a = printed(0.0);
    let stamp = |img: &RgbImage| {
        let mut out = img.clone();
        for y in 110..126 {
            for x in 0..120 {
                let p = *out.get_pixel(x, y);
                out.put_pixel(
                    x,
                    y,
                    Rgb(std::array::from_fn(|c| {
                        p[c] / 5 + [200u8, 20, 30][c] / 5 * 4
                    })),
                );
            }
        }
        out
    };
    // The same shot with a banner: one shot, and beside the banner the colours are the same.
    let c = Pixels::new(&a).compare(&Pixels::new(&stamp(&a)), true);
    let beside = c
        .colour_beside_overlay
        .expect("one shot: the colours beside are compared");
    assert!(beside <= BESIDE_OVERLAY_COLOUR, "{c:?}");
    // The same shot, the garment a little greener all over (another dye), with a banner: its
    // detail is the same, its colour beside the banner is not.
    let tinted = RgbImage::from_fn(a.width(), a.height(), |x, y| {
        let p = *a.get_pixel(x, y);
        if p.0 == [255, 255, 255] {
            return p;
        }
        Rgb([p[0], p[1].saturating_add(45), p[2].saturating_sub(30)])
    });
    let c = Pixels::new(&a).compare(&Pixels::new(&stamp(&tinted)), true);
    assert!(
        c.colour_beside_overlay
            .is_some_and(|x| x > BESIDE_OVERLAY_COLOUR),
        "{c:?}"
    );
}
