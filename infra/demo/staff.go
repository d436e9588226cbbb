package demo

import (
	"github.com/melaka-gov/ispeks/domain/employee"
)

// Person is one member of the demo staff: made-up names, valid IC numbers
// (real dates, real place-of-birth codes), official e-mails. The README and
// the demo pages show this list so a newcomer can register as one of them.
type Person struct {
	IC          string // 12 digits
	Name        string
	Email       string
	Department  string
	Post        string
	StaffNumber string
	// SharedMailbox is set for staff whose e-mail is their department's
	// mailbox, shared with a colleague: their mails name the person.
	SharedMailbox bool
}

// Details returns the employee-master record of the person.
func (p Person) Details() employee.Details {
	return employee.Details{IC: p.IC, Name: p.Name, Email: p.Email, Department: p.Department, Post: p.Post, StaffNumber: p.StaffNumber}
}

// Departments of the Melaka state government used by the demo.
const (
	deptPerbendaharaan = "Perbendaharaan Negeri Melaka"
	deptJKR            = "Jabatan Kerja Raya Negeri Melaka"
	deptPTG            = "Pejabat Tanah dan Galian Negeri Melaka"
	deptUPEN           = "Unit Perancang Ekonomi Negeri Melaka"
	deptJKM            = "Jabatan Kebajikan Masyarakat Negeri Melaka"
	deptSUK            = "Pejabat Setiausaha Kerajaan Negeri Melaka"
	deptPertanian      = "Jabatan Pertanian Negeri Melaka"
	deptJAIM           = "Jabatan Agama Islam Melaka"
	deptVeterinar      = "Jabatan Perkhidmatan Veterinar Negeri Melaka"
	deptPDT            = "Pejabat Daerah dan Tanah Melaka Tengah"
)

// pay is how a person is paid, for their statements.
type pay struct {
	kind      payKind
	grade     string
	basicSen  int64 // monthly basic (monthly staff) in the first demo year; grows each January
	increment int64 // yearly increment of the basic, sen
	itka      int64 // Imbuhan Tetap Khidmat Awam
	itp       int64 // Imbuhan Tetap Perumahan
	cola      int64 // Bantuan Sara Hidup (COLA)
	kwsp      bool  // KWSP member (contract or KWSP option); otherwise pensionable
	zakat     int64 // monthly zakat deducted at source (Muslim staff who chose it)
	angkasa   int64 // co-operative deduction through ANGKASA
	lppsa     int64 // housing loan (LPPSA)
	dailySen  int64 // weekly (daily-rated) staff: pay per day
	hourlySen int64 // part-time staff: pay per hour
	bank      string
	account   string
	taxNo     string
	epfNo     string
	payNo     string
}

type payKind int

const (
	monthly  payKind = iota
	weekly           // daily-rated, paid weekly
	parttime         // sambilan, paid monthly by the hour
)

type member struct {
	Person
	pay pay
}

// staff is the demo master. Nurul Huda and Tan Mei Ling share the JKR
// administration mailbox.
var staff = []member{
	{Person{IC: "791117045672", Name: "Siti Aminah binti Omar", Email: "siti.aminah@melaka.gov.my",
		Department: deptPerbendaharaan, Post: "Pegawai Kewangan", StaffNumber: "PNM-0042"},
		pay{kind: monthly, grade: "W44", basicSen: 6_245_80, increment: 230_00, itka: 300_00, itp: 500_00, cola: 300_00,
			zakat: 120_00, angkasa: 250_00, lppsa: 1_180_00, bank: "Bank Islam Malaysia Berhad", account: "0401-2010-0342-17",
			taxNo: "SG 10234567080", payNo: "04-79-0042"}},
	{Person{IC: "880512015123", Name: "Muhammad Hafiz bin Ismail", Email: "hafiz.ismail@melaka.gov.my",
		Department: deptJKR, Post: "Jurutera Awam", StaffNumber: "JKR-1002"},
		pay{kind: monthly, grade: "J41", basicSen: 4_350_50, increment: 195_00, itka: 250_00, itp: 300_00, cola: 300_00,
			zakat: 60_00, lppsa: 950_00, bank: "Malayan Banking Berhad", account: "1140-1122-3344",
			taxNo: "SG 20567890110", payNo: "04-88-1002"}},
	{Person{IC: "850203145432", Name: "Nurul Huda binti Rahman", Email: "pentadbiran.jkr@melaka.gov.my",
		Department: deptJKR, Post: "Pembantu Tadbir (Perkeranian/Operasi)", StaffNumber: "JKR-1001", SharedMailbox: true},
		pay{kind: monthly, grade: "N19", basicSen: 2_285_40, increment: 95_00, itka: 160_00, itp: 240_00, cola: 300_00,
			zakat: 30_00, angkasa: 180_00, bank: "Bank Rakyat", account: "2201-4455-7788-10",
			taxNo: "SG 30987654320", payNo: "04-85-1001"}},
	{Person{IC: "900921305018", Name: "Tan Mei Ling", Email: "pentadbiran.jkr@melaka.gov.my",
		Department: deptJKR, Post: "Penolong Jurutera", StaffNumber: "JKR-1003", SharedMailbox: true},
		pay{kind: monthly, grade: "J29", basicSen: 2_960_00, increment: 120_00, itka: 180_00, itp: 250_00, cola: 300_00,
			kwsp: true, bank: "CIMB Bank Berhad", account: "8001-2345-6789", taxNo: "SG 40112233440",
			epfNo: "18765432", payNo: "04-90-1003"}},
	{Person{IC: "820704085237", Name: "Rajesh a/l Subramaniam", Email: "rajesh.subramaniam@melaka.gov.my",
		Department: deptPTG, Post: "Penolong Pegawai Tanah", StaffNumber: "PTG-0310"},
		pay{kind: monthly, grade: "N29", basicSen: 3_412_70, increment: 130_00, itka: 180_00, itp: 250_00, cola: 300_00,
			angkasa: 300_00, bank: "Public Bank Berhad", account: "3178-0099-12", taxNo: "SG 50223344550", payNo: "04-82-0310"}},
	{Person{IC: "930315075511", Name: "Lim Wei Jie", Email: "lim.weijie@melaka.gov.my",
		Department: deptUPEN, Post: "Penolong Pengarah", StaffNumber: "UPEN-0077"},
		pay{kind: monthly, grade: "E41", basicSen: 3_980_00, increment: 185_00, itka: 250_00, itp: 300_00, cola: 300_00,
			kwsp: true, bank: "Hong Leong Bank Berhad", account: "0455-0123-4567", taxNo: "SG 60334455660",
			epfNo: "20987654", payNo: "04-93-0077"}},
	{Person{IC: "871208105346", Name: "Kavitha a/p Ramasamy", Email: "kavitha.ramasamy@melaka.gov.my",
		Department: deptJKM, Post: "Pegawai Pembangunan Masyarakat", StaffNumber: "JKM-0215"},
		pay{kind: monthly, grade: "S41", basicSen: 4_120_30, increment: 185_00, itka: 250_00, itp: 300_00, cola: 300_00,
			angkasa: 150_00, lppsa: 720_00, bank: "Malayan Banking Berhad", account: "1140-5566-7788",
			taxNo: "SG 70445566770", payNo: "04-87-0215"}},
	{Person{IC: "750130045071", Name: "Ahmad Faizal bin Abdullah", Email: "ahmad.faizal@melaka.gov.my",
		Department: deptSUK, Post: "Pemandu Kenderaan", StaffNumber: "SUK-0931"},
		pay{kind: monthly, grade: "H11", basicSen: 2_410_90, increment: 80_00, itka: 160_00, itp: 240_00, cola: 300_00,
			zakat: 25_00, angkasa: 200_00, bank: "Bank Simpanan Nasional", account: "0410-2-11-22334455",
			taxNo: "SG 80556677880", payNo: "04-75-0931"}},
	{Person{IC: "910627045588", Name: "Wong Kah Yee", Email: "wong.kahyee@melaka.gov.my",
		Department: deptPertanian, Post: "Pegawai Pertanian", StaffNumber: "JPN-0118"},
		pay{kind: monthly, grade: "G41", basicSen: 3_865_00, increment: 185_00, itka: 250_00, itp: 300_00, cola: 300_00,
			bank: "RHB Bank Berhad", account: "1-04123-0045678-9", taxNo: "SG 90667788990", payNo: "04-91-0118"}},
	{Person{IC: "801010035290", Name: "Nor Azizah binti Kamarudin", Email: "nor.azizah@melaka.gov.my",
		Department: deptJAIM, Post: "Penolong Pegawai Hal Ehwal Islam", StaffNumber: "JAIM-0402"},
		pay{kind: monthly, grade: "S29", basicSen: 3_288_20, increment: 130_00, itka: 180_00, itp: 250_00, cola: 300_00,
			zakat: 45_00, angkasa: 220_00, bank: "Bank Muamalat Malaysia Berhad", account: "0411-0001-2345-67",
			taxNo: "SG 11778899000", payNo: "04-80-0402"}},
	{Person{IC: "960418135149", Name: "Gerald anak Jimbun", Email: "gerald.jimbun@melaka.gov.my",
		Department: deptVeterinar, Post: "Pekerja Awam (Harian)", StaffNumber: "JPV-2051"},
		pay{kind: weekly, grade: "H11", dailySen: 72_00, kwsp: true, bank: "Bank Simpanan Nasional",
			account: "0413-2-99-88776655", taxNo: "", epfNo: "23456789", payNo: "04-96-2051"}},
	{Person{IC: "010809045766", Name: "Chong Siew Ping", Email: "chong.siewping@melaka.gov.my",
		Department: deptPDT, Post: "Pembantu Tadbir (Sambilan)", StaffNumber: "PDTMT-S017"},
		pay{kind: parttime, grade: "N19", hourlySen: 10_50, kwsp: true, bank: "Malayan Banking Berhad",
			account: "1140-9988-7766", epfNo: "24567890", payNo: "04-01-S017"}},
}

// Staff returns the demo employee master, in a fixed order. The first
// person has payments in every status of both modules, and monthly slips,
// bonus, special-aid and annual statements.
func Staff() []Person {
	out := make([]Person, len(staff))
	for i, m := range staff {
		out[i] = m.Person
	}
	return out
}
