package wusp

import (
	"strconv"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/scan"
	"wsus/soap"
)

// specPath names SystemSpec in InvalidParameters faults.
const specPath = "parameters.SystemSpec"

// Bounds of what a driver pass may report, beyond the request limits
// (syncRequest): a longer string, or more IDs, gets InvalidParameters.
// [I] Windows bounds a device instance ID to 200 characters
// (MAX_DEVICE_ID_LEN) and the native client sends 6 computer hardware IDs
// and at most a handful of IDs per device (capture scan/000009); WSUS's
// own limits were not observed.
const (
	// MaxSpecText is the longest string of SystemSpec, ComputerSpec or
	// FeatureScoreMatchingKey, in bytes.
	MaxSpecText = 1024
	// MaxDeviceIDs is the most HardwareIDs, and the most CompatibleIDs, of
	// one Device.
	MaxDeviceIDs = 256
	// MaxComputerHardwareIDs is the most ComputerSpec/HardwareIDs.
	MaxComputerHardwareIDs = 64
)

// hardwareInventory is what the driver pass r reports of the client's
// hardware, as the store keeps it: the first catalog.MaxInventoryDevices
// devices.
func hardwareInventory(r scan.SyncRequest) catalog.HardwareInventory {
	h := catalog.HardwareInventory{
		ComputerHardwareIDs:     r.ComputerHardwareIDs,
		FeatureScoreMatchingKey: r.FeatureScoreKey,
		DeviceCount:             len(r.Devices),
	}
	devices := r.Devices[:min(len(r.Devices), catalog.MaxInventoryDevices)]
	h.Devices = make([]catalog.InventoryDevice, 0, len(devices))
	for _, d := range devices {
		dev := catalog.InventoryDevice{HardwareIDs: d.HardwareIDs, CompatibleIDs: d.CompatibleIDs}
		if inst := d.Installed; inst != nil {
			dev.InstalledDriver = &catalog.InventoryDriver{
				MatchingID: inst.MatchingID, DriverVerDate: inst.DriverVerDate,
				DriverVerVersion: int64(inst.DriverVerVersion), Class: inst.Class,
				Manufacturer: inst.Manufacturer, Provider: inst.Provider, Model: inst.Model,
				MatchingComputerHWID: inst.MatchingComputerHWID, DriverRank: inst.DriverRank,
			}
		}
		h.Devices = append(h.Devices, dev)
	}
	return h
}

// specText reports whether the strings fit MaxSpecText and can be stored.
func specText(strs ...string) bool {
	for _, s := range strs {
		if len(s) > MaxSpecText || !validText(s) {
			return false
		}
	}
	return true
}

// decodeDriverParameters reads what only the driver pass uses: SystemSpec
// (the devices), ComputerSpec/HardwareIDs and FeatureScoreMatchingKey
// (MS-WUSP.md section 2.2, SyncUpdateParameters and Device).
func decodeDriverParameters(req *soap.Request, p *etree.Element, r *scan.SyncRequest) error {
	spec, err := systemSpec(req, p)
	if err != nil {
		return err
	}
	for _, el := range soap.Children(spec, "Device") {
		d, err := decodeDevice(el)
		if err != nil {
			return err
		}
		r.Devices = append(r.Devices, d)
	}
	chids := soap.Strings(soap.Child(p, "ComputerSpec"), "HardwareIDs")
	if len(chids) > MaxComputerHardwareIDs {
		return soap.BadParameter("parameters.ComputerSpec")
	}
	for _, s := range chids {
		id, err := soap.GUID(s, "parameters.ComputerSpec")
		if err != nil {
			return err
		}
		r.ComputerHardwareIDs = append(r.ComputerHardwareIDs, id)
	}
	r.FeatureScoreKey = soap.Text(p, "FeatureScoreMatchingKey")
	if !specText(r.FeatureScoreKey) {
		return soap.BadParameter("parameters.FeatureScoreMatchingKey")
	}
	return nil
}

// systemSpec returns the SystemSpec element of the parameters. The soap
// layer cut its content out of the body before parsing (HandleBulk), so
// the parsed SystemSpec is empty and the devices are parsed here, from the
// raw bytes, wrapped in an element that declares the ClientWebService
// namespace as the default and the XML Schema instance namespace as xsi.
//
// That assumes the items are written as the native client writes them
// (capture scan/000009): unprefixed, in the default namespace the
// SyncUpdates element declares, with xsi:nil spelled a:nil and its prefix
// declared on the element itself (<MatchingComputerHWID a:nil="true"
// xmlns:a="http://www.w3.org/2001/XMLSchema-instance"/>). Elements are
// matched by local name anyway; only a prefix declared on an outer element
// and used inside (other than xsi) stays unresolved, so a nil written with
// it is not recognised as nil.
func systemSpec(req *soap.Request, p *etree.Element) (*etree.Element, error) {
	raw, ok := req.RawContent("SystemSpec")
	if !ok {
		// Not cut out (absent, empty, nil, or a body the cutter leaves to
		// the parser): read what the tree holds.
		return soap.Child(p, "SystemSpec"), nil
	}
	wrapped := make([]byte, 0, len(raw)+200)
	wrapped = append(wrapped, `<SystemSpec xmlns="`+soap.NSClient+`" xmlns:xsi="`+soap.NSXSI+`">`...)
	wrapped = append(append(wrapped, raw...), "</SystemSpec>"...)
	// The soap layer counted this markup against the request's limits
	// before cutting it out; parse it under the same depth limit.
	doc, err := soap.ReadDocument(wrapped)
	if err != nil {
		return nil, soap.BadParameter(specPath)
	}
	return doc.Root(), nil
}

// decodeDevice reads one Device. Elements the native client sends beyond
// the WSDL (installedDriver/SkipProviderFiltering and IsGeneric,
// extensionDrivers/ExtensionDriver where the WSDL says extensionDriver) and
// the ones the matching does not use (DriverRecoveryIDs, DeviceFlags) are
// ignored; extension drivers are not matched ([MS-WUSP] 3.1.5.7 describes
// no matching for them).
func decodeDevice(el *etree.Element) (scan.Device, error) {
	d := scan.Device{HardwareIDs: soap.Strings(el, "HardwareIDs"), CompatibleIDs: soap.Strings(el, "CompatibleIDs")}
	if len(d.HardwareIDs) > MaxDeviceIDs || len(d.CompatibleIDs) > MaxDeviceIDs ||
		!specText(d.HardwareIDs...) || !specText(d.CompatibleIDs...) {
		return d, soap.BadParameter(specPath)
	}
	inst := soap.Child(el, "installedDriver")
	if inst == nil {
		return d, nil
	}
	date, err := soap.Time(inst, "DriverVerDate", specPath)
	if err != nil {
		return d, err
	}
	var version int64
	if s := soap.Text(inst, "DriverVerVersion"); s != "" {
		if version, err = strconv.ParseInt(s, 10, 64); err != nil {
			return d, soap.BadParameter(specPath)
		}
	}
	rank, err := soap.Int(inst, "DriverRank", specPath)
	if err != nil {
		return d, err
	}
	hwid := uuid.Nil
	if s := soap.Text(inst, "MatchingComputerHWID"); s != "" {
		if hwid, err = soap.GUID(s, specPath); err != nil {
			return d, err
		}
	}
	d.Installed = &scan.InstalledDriver{
		MatchingID:    soap.Text(inst, "MatchingID"),
		DriverVerDate: date,
		// An xs:long carrying the four 16-bit parts; a major part of
		// 0x8000 or more arrives negative.
		DriverVerVersion:     uint64(version),
		Class:                soap.Text(inst, "Class"),
		Manufacturer:         soap.Text(inst, "Manufacturer"),
		Provider:             soap.Text(inst, "Provider"),
		Model:                soap.Text(inst, "Model"),
		MatchingComputerHWID: hwid,
		DriverRank:           int32(rank),
	}
	if i := d.Installed; !specText(i.MatchingID, i.Class, i.Manufacturer, i.Provider, i.Model) {
		return d, soap.BadParameter(specPath)
	}
	return d, nil
}
