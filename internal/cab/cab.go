// Package cab reads Microsoft Cabinet files ([MS-CAB]), as they carry
// update metadata in MS-WSUSSS GetUpdateData answers (XmlUpdateBlobCompressed,
// see DecodeUpdateBlob).
//
// # Contract
//
// Open reads and checks every header of a cabinet before any data is
// decompressed: CFHEADER, the CFFOLDER and CFFILE entries and every
// CFDATA header of every folder. It refuses (ErrTooLarge) a cabinet whose
// folders, or whose files, declare more uncompressed bytes in all than the
// limit the caller passes; it refuses (ErrFormat) a file that does not lie
// within its folder's declared data and folders whose CFDATA blocks
// overlap, so the work of Open is bounded by the cabinet's size; and it
// refuses (ErrUnsupported) a cabinet that is part of a multi-cabinet set.
//
// Extraction decodes a file's whole folder once, into a buffer that starts
// at what the folder's compressed bytes can plausibly hold and grows to the
// folder's declared size only as the data decodes that far, and keeps it
// for the folder's other files: a Cabinet holds at most limit bytes of
// decoded folders, plus, while decoding, an LZX window no larger than the
// folder or the flate state of MSZIP. Extracting every file costs at most
// limit bytes of decoding and limit bytes of copies. Malformed data returns
// an error wrapping ErrFormat (or ErrChecksum, ErrTooLarge, ErrUnsupported,
// ErrNotFound), never a panic.
//
// # Format
//
// Following [MS-CAB] "Cabinet File Format":
//   - 2.1 CFHEADER: "MSCF", cbCabinet, coffFiles, version 1.3, cFolders,
//     cFiles, flags. With cfhdrRESERVE_PRESENT (4) the sizes of the
//     reserved areas of the header, of each CFFOLDER and of each CFDATA
//     follow; all reserved areas are skipped. cfhdrPREV_CABINET (1) and
//     cfhdrNEXT_CABINET (2) mark a cabinet of a set: refused
//     (ErrUnsupported), as are files continued from or to another cabinet
//     (iFolder 0xFFFD to 0xFFFF) and CFDATA blocks with cbUncomp 0.
//   - 2.2 CFFOLDER: coffCabStart, cCFData, typeCompress. The low 4 bits of
//     typeCompress are the method: 0 none, 1 MSZIP, 2 Quantum (refused,
//     ErrUnsupported), 3 LZX with the window size 2^15 to 2^21 in bits 8 to
//     12 (package wsus/internal/lzx).
//   - 2.3 CFFILE: cbFile, uoffFolderStart, iFolder, date, time, attribs,
//     then the NUL-terminated name, UTF-8 when attribs has _A_NAME_IS_UTF
//     (0x80), else read as Latin-1 [I: [MS-CAB] leaves it to the code page
//     of the system that made the cabinet].
//   - 2.4 CFDATA: csum, cbData, cbUncomp, the reserved area, cbData bytes.
//     A block holds at most 32,768 uncompressed bytes (MSZIP and LZX frames;
//     also required of stored blocks here, whose cbData must equal cbUncomp).
//
// The checksum: csum 0 means none. Otherwise it is the checksum method of
// [MS-CAB] (CSUMCompute) run first over the cbData bytes of ab, then, with
// that result as seed, over the 4 bytes cbData and cbUncomp as stored. The
// method XORs the input taken as little-endian 32-bit words; the 1 to 3
// bytes left over form one more value with the first of them as its most
// significant byte. The real samples (their blocks are multiples of 4
// bytes) and a synthetic cabinet that cabextract accepts check this
// (testdata/README.md). As [MS-CAB] words the field, it covers the entry
// from cbData through ab, which would take in the CFDATA reserved area;
// cabextract leaves that area out. Both forms are accepted here [I].
//
// MSZIP ([MS-MCI] "Microsoft ZIP (MSZIP) Compression and Decompression Data
// Structure"): each CFDATA block is "CK" followed by a deflate stream (RFC
// 1951) that decodes to exactly cbUncomp bytes, with the previous 32 KiB of
// the folder's output as its dictionary.
package cab

import (
	"bytes"
	"cmp"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"wsus/internal/lzx"
)

// The error vocabulary; every error of this package wraps one of them.
var (
	// ErrFormat: the data is not a well-formed cabinet, or its compressed
	// data is corrupt.
	ErrFormat = errors.New("malformed cabinet")
	// ErrChecksum: a CFDATA block does not match its checksum.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrTooLarge: the cabinet declares more uncompressed data than the
	// caller's limit.
	ErrTooLarge = errors.New("cabinet declares more data than the limit")
	// ErrUnsupported: a multi-cabinet set or the Quantum method.
	ErrUnsupported = errors.New("unsupported cabinet")
	// ErrNotFound: no file of that name.
	ErrNotFound = errors.New("no such file in the cabinet")
)

const (
	headerSize   = 36
	folderSize   = 8
	fileSize     = 16
	dataSize     = 8
	maxBlockSize = 32768
	maxNameSize  = 256 // with the NUL ([MS-CAB] 2.3: at most CB_MAX_FILENAME)

	flagPrevCabinet     = 0x0001
	flagNextCabinet     = 0x0002
	flagReservePresent  = 0x0004
	attribNameIsUTF     = 0x80
	folderContinuedFrom = 0xFFFD // and 0xFFFE, 0xFFFF

	compNone    = 0
	compMSZIP   = 1
	compQuantum = 2
	compLZX     = 3
)

// File is one CFFILE entry.
type File struct {
	Name       string // decoded as the package doc says
	Size       int64  // cbFile
	Folder     int    // iFolder
	Offset     int64  // uoffFolderStart: where the file starts in its folder's data
	Attributes uint16 // attribs
	Date, Time uint16 // MS-DOS date and time, as stored
}

type block struct {
	header   int64 // offset of the CFDATA header
	data     int64 // offset of ab
	cbData   int
	cbUncomp int
	csum     uint32
}

type folder struct {
	typeCompress uint16
	blocks       []block
	size         int64 // sum of cbUncomp
}

// Cabinet is an opened cabinet. Its methods are not safe for concurrent use.
type Cabinet struct {
	r           io.ReaderAt
	size        int64 // cbCabinet
	dataReserve int
	folders     []folder
	files       []File

	decoded   [][]byte // per folder, once decoded
	blockBuf  []byte
	walked    int64 // bytes of CFDATA headers and data walked by Open
	flate     io.ReadCloser
	byteInput bytes.Reader
}

// OpenBytes opens the cabinet held in b; see Open.
func OpenBytes(b []byte, limit int64) (*Cabinet, error) {
	return Open(bytes.NewReader(b), int64(len(b)), limit)
}

// Open reads the headers of the cabinet of size bytes in r and checks them
// (see the package doc). limit bounds the uncompressed bytes that all
// folders together, and all files together, may declare; it must be
// positive. Bytes past the cabinet's own size (CFHEADER.cbCabinet) are
// ignored.
func Open(r io.ReaderAt, size int64, limit int64) (*Cabinet, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("cab: open: limit %d: %w", limit, ErrTooLarge)
	}
	c := &Cabinet{r: r}
	if err := c.readHeaders(size, limit); err != nil {
		return nil, err
	}
	return c, nil
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("cab: open: "+format+": %w", append(args, ErrFormat)...)
}

// readAt reads n bytes at off, all within the cabinet.
func (c *Cabinet) readAt(off int64, n int, what string) ([]byte, error) {
	if off < 0 || n < 0 || off > c.size || int64(n) > c.size-off {
		return nil, formatErr("%s at %d (%d bytes) lies beyond the cabinet's %d bytes", what, off, n, c.size)
	}
	b := make([]byte, n)
	if k, err := c.r.ReadAt(b, off); k < n {
		return nil, fmt.Errorf("cab: open: reading %s: %w", what, err)
	}
	return b, nil
}

func (c *Cabinet) readHeaders(size int64, limit int64) error {
	if size < headerSize {
		return formatErr("%d bytes, shorter than a CFHEADER", size)
	}
	c.size = headerSize
	h, err := c.readAt(0, headerSize, "CFHEADER")
	if err != nil {
		return err
	}
	if string(h[:4]) != "MSCF" {
		return formatErr("signature %q, want \"MSCF\"", h[:4])
	}
	le := binary.LittleEndian
	cb := int64(le.Uint32(h[8:]))
	if cb > size {
		return formatErr("cbCabinet %d, but only %d bytes", cb, size)
	}
	if cb < headerSize {
		return formatErr("cbCabinet %d", cb)
	}
	c.size = cb
	coffFiles := int64(le.Uint32(h[16:]))
	if h[25] != 1 {
		return formatErr("version %d.%d, want 1.x", h[25], h[24])
	}
	nFolders := int(le.Uint16(h[26:]))
	nFiles := int(le.Uint16(h[28:]))
	flags := le.Uint16(h[30:])
	if flags&(flagPrevCabinet|flagNextCabinet) != 0 {
		return fmt.Errorf("cab: open: part of a multi-cabinet set (flags %#x): %w", flags, ErrUnsupported)
	}
	off := int64(headerSize)
	folderReserve := 0
	if flags&flagReservePresent != 0 {
		r, err := c.readAt(off, 4, "CFHEADER reserve sizes")
		if err != nil {
			return err
		}
		off += 4 + int64(le.Uint16(r))
		folderReserve = int(r[2])
		c.dataReserve = int(r[3])
	}
	if nFolders == 0 && nFiles > 0 {
		return formatErr("%d files but no folder", nFiles)
	}
	if need := int64(nFolders) * int64(folderSize+folderReserve); need > c.size-off {
		return formatErr("%d CFFOLDER entries of %d bytes at %d pass the cabinet's end (%d)", nFolders, folderSize+folderReserve, off, c.size)
	}
	c.folders = make([]folder, nFolders)
	c.decoded = make([][]byte, nFolders)
	var total int64
	for i := range c.folders {
		fh, err := c.readAt(off, folderSize, "CFFOLDER")
		if err != nil {
			return err
		}
		off += folderSize + int64(folderReserve)
		f := &c.folders[i]
		f.typeCompress = le.Uint16(fh[6:])
		if err := c.readBlocks(f, i, int64(le.Uint32(fh)), int(le.Uint16(fh[4:])), limit-total); err != nil {
			return err
		}
		total += f.size
	}
	if err := c.checkDisjoint(); err != nil {
		return err
	}
	off = coffFiles
	c.files = make([]File, 0, min(nFiles, int(c.size/(fileSize+1))))
	var filesTotal int64
	for i := range nFiles {
		fh, err := c.readAt(off, fileSize, "CFFILE")
		if err != nil {
			return err
		}
		name, n, err := c.readName(off+fileSize, le.Uint16(fh[14:]))
		if err != nil {
			return err
		}
		off += fileSize + int64(n)
		f := File{
			Name:       name,
			Size:       int64(le.Uint32(fh)),
			Offset:     int64(le.Uint32(fh[4:])),
			Folder:     int(le.Uint16(fh[8:])),
			Date:       le.Uint16(fh[10:]),
			Time:       le.Uint16(fh[12:]),
			Attributes: le.Uint16(fh[14:]),
		}
		if f.Folder >= folderContinuedFrom {
			return fmt.Errorf("cab: open: file %d %q continues from or into another cabinet (iFolder %#x): %w", i, f.Name, f.Folder, ErrUnsupported)
		}
		if f.Folder >= nFolders {
			return formatErr("file %d %q in folder %d of %d", i, f.Name, f.Folder, nFolders)
		}
		if fs := c.folders[f.Folder].size; f.Offset > fs || f.Size > fs-f.Offset {
			return formatErr("file %d %q (%d bytes at %d) passes the end of folder %d (%d bytes)", i, f.Name, f.Size, f.Offset, f.Folder, fs)
		}
		// Files may overlap in a folder; the limit bounds their sum too, so
		// that extracting every file costs at most limit bytes of copies.
		if filesTotal += f.Size; filesTotal > limit {
			return fmt.Errorf("cab: open: files declare more than %d bytes: %w", limit, ErrTooLarge)
		}
		c.files = append(c.files, f)
	}
	return nil
}

// readBlocks reads the CFDATA headers of folder f, starting at off.
func (c *Cabinet) readBlocks(f *folder, index int, off int64, n int, limit int64) error {
	switch f.typeCompress & 0xF {
	case compNone, compMSZIP:
	case compLZX:
		if bits := int(f.typeCompress>>8) & 0x1F; bits < lzx.MinWindowBits || bits > lzx.MaxWindowBits {
			return formatErr("folder %d: LZX window of 2^%d bytes", index, bits)
		}
	case compQuantum:
		return fmt.Errorf("cab: open: folder %d: Quantum compression: %w", index, ErrUnsupported)
	default:
		return formatErr("folder %d: compression type %#x", index, f.typeCompress)
	}
	f.blocks = make([]block, 0, min(n, int(c.size/dataSize)))
	for i := range n {
		h, err := c.readAt(off, dataSize, "CFDATA")
		if err != nil {
			return err
		}
		b := block{
			header:   off,
			data:     off + dataSize + int64(c.dataReserve),
			csum:     binary.LittleEndian.Uint32(h),
			cbData:   int(binary.LittleEndian.Uint16(h[4:])),
			cbUncomp: int(binary.LittleEndian.Uint16(h[6:])),
		}
		if b.data+int64(b.cbData) > c.size {
			return formatErr("folder %d block %d: %d bytes at %d pass the cabinet's end (%d)", index, i, b.cbData, b.data, c.size)
		}
		// Folders whose data overlap could make the walk revisit the same
		// bytes 65,535 times over: stop as soon as more CFDATA was walked
		// than the cabinet holds (checkDisjoint then refuses any overlap).
		c.walked += b.data + int64(b.cbData) - off
		if c.walked > c.size {
			return formatErr("folder %d block %d: the folders' CFDATA blocks overlap", index, i)
		}
		switch {
		case b.cbUncomp == 0:
			return fmt.Errorf("cab: open: folder %d block %d continues into another cabinet: %w", index, i, ErrUnsupported)
		case b.cbUncomp > maxBlockSize:
			return formatErr("folder %d block %d: %d uncompressed bytes, more than %d", index, i, b.cbUncomp, maxBlockSize)
		case f.typeCompress&0xF == compNone && b.cbData != b.cbUncomp:
			return formatErr("folder %d block %d: stored block of %d bytes declares %d", index, i, b.cbData, b.cbUncomp)
		}
		f.size += int64(b.cbUncomp)
		if f.size > limit {
			return fmt.Errorf("cab: open: folder %d: more than %d uncompressed bytes: %w", index, limit, ErrTooLarge)
		}
		f.blocks = append(f.blocks, b)
		off = b.data + int64(b.cbData)
	}
	return nil
}

// checkDisjoint refuses CFDATA blocks that share bytes: each byte of a
// cabinet belongs to at most one block ([MS-CAB] 2.4 lays the blocks of a
// folder one after the other; folders do not share them [I]).
func (c *Cabinet) checkDisjoint() error {
	type span struct{ from, to int64 }
	var spans []span
	for _, f := range c.folders {
		for _, b := range f.blocks {
			spans = append(spans, span{b.header, b.data + int64(b.cbData)})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	for i := 1; i < len(spans); i++ {
		if spans[i].from < spans[i-1].to {
			return formatErr("CFDATA blocks at %d and %d overlap", spans[i-1].from, spans[i].from)
		}
	}
	return nil
}

// readName reads a NUL-terminated CFFILE name at off and returns it and
// the bytes it took with the NUL.
func (c *Cabinet) readName(off int64, attribs uint16) (string, int, error) {
	n := min(int64(maxNameSize), c.size-off)
	if n <= 0 {
		return "", 0, formatErr("file name at %d lies beyond the cabinet", off)
	}
	b, err := c.readAt(off, int(n), "file name")
	if err != nil {
		return "", 0, err
	}
	end := bytes.IndexByte(b, 0)
	if end < 0 {
		return "", 0, formatErr("file name at %d: no NUL within %d bytes", off, n)
	}
	b = b[:end]
	if attribs&attribNameIsUTF != 0 {
		if !utf8.Valid(b) {
			return "", 0, formatErr("file name at %d: not UTF-8", off)
		}
		return string(b), end + 1, nil
	}
	var sb strings.Builder
	for _, x := range b {
		sb.WriteRune(rune(x))
	}
	return sb.String(), end + 1, nil
}

// Files lists the files of the cabinet in CFFILE order.
func (c *Cabinet) Files() []File {
	return append([]File(nil), c.files...)
}

// Extract returns the content of the first file named name.
func (c *Cabinet) Extract(name string) ([]byte, error) {
	for _, f := range c.files {
		if f.Name == name {
			return c.ExtractFile(f)
		}
	}
	return nil, fmt.Errorf("cab: extract %q: %w", name, ErrNotFound)
}

// ExtractFile returns the content of f, one of the Files of c, in a slice
// of its own. Each folder is decompressed once, on the first extraction of
// one of its files, and kept for the next.
func (c *Cabinet) ExtractFile(f File) ([]byte, error) {
	data, err := c.fileData(f)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(data), nil
}

// fileData returns the content of f within its decoded folder.
func (c *Cabinet) fileData(f File) ([]byte, error) {
	if f.Folder < 0 || f.Folder >= len(c.folders) {
		return nil, fmt.Errorf("cab: extract %q: folder %d of %d: %w", f.Name, f.Folder, len(c.folders), ErrNotFound)
	}
	fo := &c.folders[f.Folder]
	if f.Offset < 0 || f.Size < 0 || f.Offset > fo.size || f.Size > fo.size-f.Offset {
		return nil, fmt.Errorf("cab: extract %q: not within its folder: %w", f.Name, ErrNotFound)
	}
	data, err := c.folderData(f.Folder)
	if err != nil {
		return nil, fmt.Errorf("cab: extract %q: %w", f.Name, err)
	}
	return data[f.Offset : f.Offset+f.Size], nil
}

// folderData decodes folder i whole, or returns it decoded before.
func (c *Cabinet) folderData(i int) ([]byte, error) {
	if c.decoded[i] != nil {
		return c.decoded[i], nil
	}
	fo := &c.folders[i]
	// The buffer starts at what the compressed bytes can plausibly hold and
	// grows to the declared size only when the data decodes that far, so a
	// small cabinet declaring much costs memory only for what it proves.
	var packed int64
	for _, b := range fo.blocks {
		packed += int64(b.cbData)
	}
	out := make([]byte, 0, min(fo.size, 64<<10+32*packed))
	var dec *lzx.Decoder
	if fo.typeCompress&0xF == compLZX {
		var err error
		if dec, err = lzx.NewDecoder(int(fo.typeCompress>>8)&0x1F, fo.size); err != nil {
			return nil, fmt.Errorf("folder %d: %w: %w", i, ErrFormat, err)
		}
	}
	for bi, b := range fo.blocks {
		src, err := c.blockData(b)
		if err != nil {
			return nil, fmt.Errorf("folder %d block %d: %w", i, bi, err)
		}
		n := len(out)
		if cap(out)-n < b.cbUncomp {
			out = append(make([]byte, 0, fo.size), out...)
		}
		switch fo.typeCompress & 0xF {
		case compNone:
			out = append(out, src...)
		case compMSZIP:
			out, err = c.inflate(out, src, b.cbUncomp)
		case compLZX:
			out, err = dec.Decode(out, src, b.cbUncomp)
		}
		if err != nil {
			return nil, fmt.Errorf("folder %d block %d: %w: %w", i, bi, ErrFormat, err)
		}
		if len(out)-n != b.cbUncomp {
			return nil, fmt.Errorf("folder %d block %d: %d bytes decoded, %d declared: %w", i, bi, len(out)-n, b.cbUncomp, ErrFormat)
		}
	}
	c.decoded[i] = out
	return out, nil
}

// blockData reads the data of one CFDATA block and verifies its checksum.
func (c *Cabinet) blockData(b block) ([]byte, error) {
	n := b.cbData
	if b.csum != 0 {
		n += dataSize - 4 + c.dataReserve // from cbData on, to check both checksum forms
	}
	if cap(c.blockBuf) < n {
		c.blockBuf = make([]byte, n)
	}
	buf := c.blockBuf[:n]
	from := b.data
	if b.csum != 0 {
		from = b.header + 4
	}
	if k, err := c.r.ReadAt(buf, from); k < len(buf) {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if b.csum == 0 {
		return buf, nil
	}
	data := buf[4+c.dataReserve:]
	sum := Checksum(data, 0)
	// cabextract's form, then the one that takes in the reserved area.
	if Checksum(buf[:4], sum) != b.csum && (c.dataReserve == 0 || Checksum(buf[:4+c.dataReserve], sum) != b.csum) {
		return nil, fmt.Errorf("CFDATA at %d: %w", b.header, ErrChecksum)
	}
	return data, nil
}

// inflate decodes one MSZIP block: "CK" and a deflate stream with the last
// 32 KiB of out as dictionary.
func (c *Cabinet) inflate(out, src []byte, size int) ([]byte, error) {
	if len(src) < 2 || src[0] != 'C' || src[1] != 'K' {
		return out, errors.New("MSZIP block without the \"CK\" signature")
	}
	dict := out[max(0, len(out)-maxBlockSize):]
	c.byteInput.Reset(src[2:])
	if c.flate == nil {
		c.flate = flate.NewReaderDict(&c.byteInput, dict)
	} else if err := c.flate.(flate.Resetter).Reset(&c.byteInput, dict); err != nil {
		return out, err
	}
	n := len(out)
	out = out[:n+size]
	if _, err := io.ReadFull(c.flate, out[n:]); err != nil {
		return out[:n], fmt.Errorf("MSZIP: %w", err)
	}
	var one [1]byte
	if k, _ := c.flate.Read(one[:]); k != 0 {
		return out[:n], errors.New("MSZIP block decodes to more than its declared size")
	}
	return out, nil
}

// Checksum is the checksum method of [MS-CAB] (CSUMCompute): seed XOR the
// little-endian 32-bit words of b, XOR the 1 to 3 bytes left over taken
// with the first as the most significant. CFDATA.csum is
// Checksum(cbData and cbUncomp as stored, Checksum(ab, 0)).
func Checksum(b []byte, seed uint32) uint32 {
	c := seed
	for len(b) >= 4 {
		c ^= binary.LittleEndian.Uint32(b)
		b = b[4:]
	}
	var u uint32
	for _, x := range b {
		u = u<<8 | uint32(x)
	}
	return c ^ u
}
