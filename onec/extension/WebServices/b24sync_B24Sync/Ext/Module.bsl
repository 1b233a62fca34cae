// Веб-сервис B24Sync расширения b24sync: контракт onec/wsdl/b24sync.wsdl проекта b24app.
// Каждая операция возвращает строку JSON; ошибки — исключения (SOAP Fault с русским текстом).
// Логика — в общем модуле b24sync_Обмен, здесь только разбор параметров.

#Область ОбработчикиОпераций

Функция GetChanges(FromVersion, Limit)
	Возврат b24sync_Обмен.Изменения(FromVersion, Limit);
КонецФункции

Функция Acknowledge(Version)
	Возврат b24sync_Обмен.Подтвердить(Version);
КонецФункции

Функция GetVacationBalance(Employee, Date)
	Возврат b24sync_Обмен.ОстатокОтпуска(Employee, Date);
КонецФункции

Функция GetEmployments(Person)
	Возврат b24sync_Обмен.КадровыеДанныеФизлица(Person);
КонецФункции

Функция GetDocuments(Person, Objects, Limit)
	Возврат b24sync_Обмен.ДокументыФизлица(Person, Objects, Limit);
КонецФункции

Функция WriteDocument(Object, Fields, Key)
	Возврат b24sync_Обмен.ЗаписатьДокумент(Object, Fields, Key);
КонецФункции

Функция GetRequestStatus(Ref)
	Возврат b24sync_Обмен.СостояниеДокумента(Ref);
КонецФункции

Функция GetDocument(Ref)
	Возврат b24sync_Обмен.ФайлДокумента(Ref);
КонецФункции

#КонецОбласти
