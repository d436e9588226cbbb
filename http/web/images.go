package web

import "github.com/melaka-gov/ispeks/http/i18n"

// SecurityImage is one picture a user may choose at activation ("Imej
// Online") and is shown after entering their user ID, so they can tell the
// genuine portal from a copy. The artwork is original to this project
// (static/security/<ID>.svg). IDs are stable: accounts store them.
type SecurityImage struct {
	ID   string
	Name i18n.Text
}

// URLPath is where the image is served.
func (s SecurityImage) URLPath() string { return "security/" + s.ID + ".svg" }

// securityImages is the gallery, in display order. Never reorder or
// remove an entry: decoy images for unknown IDs are chosen by index
// (HMAC of the ID modulo the count), and accounts refer to IDs.
var securityImages = []SecurityImage{
	{"rumah-api", i18n.Text{MS: "Rumah Api", EN: "Lighthouse"}},
	{"wau-bulan", i18n.Text{MS: "Wau Bulan", EN: "Moon Kite"}},
	{"sampan", i18n.Text{MS: "Sampan", EN: "Sampan Boat"}},
	{"durian", i18n.Text{MS: "Durian", EN: "Durian"}},
	{"enggang", i18n.Text{MS: "Burung Enggang", EN: "Hornbill"}},
	{"kubah-masjid", i18n.Text{MS: "Kubah Masjid", EN: "Mosque Dome"}},
	{"pokok-getah", i18n.Text{MS: "Pokok Getah", EN: "Rubber Tree"}},
	{"teko", i18n.Text{MS: "Teko", EN: "Teapot"}},
	{"basikal", i18n.Text{MS: "Basikal", EN: "Bicycle"}},
	{"belimbing", i18n.Text{MS: "Belimbing Besi", EN: "Star Fruit"}},
	{"bulan-bintang", i18n.Text{MS: "Bulan dan Bintang", EN: "Crescent and Star"}},
	{"bunga-raya", i18n.Text{MS: "Bunga Raya", EN: "Hibiscus"}},
	{"ketupat", i18n.Text{MS: "Ketupat", EN: "Ketupat"}},
	{"pokok-kelapa", i18n.Text{MS: "Pokok Kelapa", EN: "Coconut Palm"}},
	{"kucing", i18n.Text{MS: "Kucing", EN: "Cat"}},
	{"payung", i18n.Text{MS: "Payung", EN: "Umbrella"}},
}

// SecurityImages returns the gallery in display order.
func SecurityImages() []SecurityImage {
	return append([]SecurityImage(nil), securityImages...)
}

// SecurityImageIDs returns the IDs in display order (what the accounts
// domain validates a choice against and picks decoys from).
func SecurityImageIDs() []string {
	ids := make([]string, len(securityImages))
	for i, s := range securityImages {
		ids[i] = s.ID
	}
	return ids
}

// SecurityImageByID finds an image.
func SecurityImageByID(id string) (SecurityImage, bool) {
	for _, s := range securityImages {
		if s.ID == id {
			return s, true
		}
	}
	return SecurityImage{}, false
}
